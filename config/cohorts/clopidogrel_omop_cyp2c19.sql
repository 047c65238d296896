-- CYP2C19 poor or intermediate metabolizers on clopidogrel by their EHR (OMOP CDM, clinical_omop.path):
-- a clopidogrel exposure (RxNorm ingredient, ehr_drug_exposures) that runs on or after the patient's
-- diagnosis date (any exposure when none is recorded), or an entry in the OMOP cohort definition
-- $omop_cohort (ehr_cohorts, e.g. Circe's first exposure inside an observation period).
-- CPIC (clopidogrel and CYP2C19, 2022 update): for these phenotypes clopidogrel is less effective
-- after PCI; an alternative antiplatelet agent is recommended.
-- The phenotype is read from germline DNA when the patient has it (a germline or normal sample).
-- Without a CDM the ehr_* tables are empty and so is this cohort.
-- Parameters (config: cohorts: parameters:): $pgx_gene, $pgx_drug, $omop_cohort
WITH exposed AS (
    SELECT e.patient, min(e.start_date) AS first_exposure
    FROM ehr_drug_exposures AS e
    JOIN patients AS p ON p.patient = e.patient
    WHERE e.ingredient = $pgx_drug
      AND (p.diagnosis_date IS NULL OR e.end_date >= p.diagnosis_date)
    GROUP BY e.patient
),
in_cohort AS (
    SELECT patient, min(cohort_start_date) AS cohort_start
    FROM ehr_cohorts
    WHERE cohort = $omop_cohort
    GROUP BY patient
),
on_drug AS (
    SELECT coalesce(x.patient, c.patient) AS patient, x.first_exposure, c.cohort_start
    FROM exposed AS x FULL OUTER JOIN in_cohort AS c ON c.patient = x.patient
),
phenotype AS (
    SELECT g.patient, g.phenotype,
           row_number() OVER (PARTITION BY g.patient ORDER BY (s.type = 'tumor'), g.sample) AS k
    FROM pgx_genes AS g
    JOIN samples AS s ON s.sample = g.sample
    WHERE g.gene = $pgx_gene
)
SELECT d.patient, f.phenotype AS cyp2c19_phenotype,
       d.first_exposure AS first_clopidogrel_exposure, d.cohort_start AS omop_cohort_start
FROM on_drug AS d
JOIN phenotype AS f ON f.patient = d.patient AND f.k = 1
WHERE f.phenotype IN ('Poor Metabolizer', 'Intermediate Metabolizer', 'Likely Poor Metabolizer',
                      'Likely Intermediate Metabolizer')
