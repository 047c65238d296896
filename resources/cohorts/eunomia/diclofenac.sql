-- Eunomia's simplified diclofenac cohort: every drug era of the ingredient diclofenac
-- (RxNorm 3355, concept 1124300), no observation-period check. Published count: 850.
SELECT person_id AS subject_id,
       drug_era_start_date AS cohort_start_date,
       drug_era_end_date AS cohort_end_date
FROM drug_era
WHERE drug_concept_id = 1124300
