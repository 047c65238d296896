-- CYP2C19 poor or intermediate metabolizers who are prescribed clopidogrel.
-- CPIC (clopidogrel and CYP2C19, 2022 update): for these phenotypes clopidogrel is less
-- effective after PCI; an alternative antiplatelet agent is recommended.
-- The phenotype is read from germline DNA when the patient has it (a germline or normal sample).
-- Parameters (config: cohorts: parameters:): $pgx_gene, $pgx_drug
SELECT DISTINCT g.patient, g.phenotype AS cyp2c19_phenotype
FROM pgx_genes AS g
JOIN samples AS s ON s.sample = g.sample
JOIN medications AS m ON m.patient = g.patient
WHERE g.gene = $pgx_gene
  AND g.phenotype IN ('Poor Metabolizer', 'Intermediate Metabolizer', 'Likely Poor Metabolizer',
                      'Likely Intermediate Metabolizer')
  AND m.drug = $pgx_drug
  -- exclusion: a tumour-only call when the patient also has germline DNA
  AND (s.type <> 'tumor' OR NOT EXISTS (
        SELECT 1 FROM samples AS n WHERE n.patient = g.patient AND n.type <> 'tumor'))
