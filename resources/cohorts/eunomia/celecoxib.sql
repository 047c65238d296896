-- Eunomia's simplified celecoxib cohort: every drug era of the ingredient celecoxib
-- (RxNorm 140587, concept 1118084), no observation-period check. Published count: 1,844.
SELECT person_id AS subject_id,
       drug_era_start_date AS cohort_start_date,
       drug_era_end_date AS cohort_end_date
FROM drug_era
WHERE drug_concept_id = 1118084
