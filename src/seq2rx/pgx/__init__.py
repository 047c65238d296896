"""Pharmacogenomics: allele definitions, star-allele matching, phenotypes and drug guidance."""
