-- Eunomia's simplified GI bleed cohort: every condition occurrence of gastrointestinal
-- hemorrhage (SNOMED 74474003, concept 192671) or a descendant of it, no observation-period
-- check. Published count: 479. Eunomia leaves condition_end_date empty, so the end is NULL.
SELECT person_id AS subject_id,
       condition_start_date AS cohort_start_date,
       condition_end_date AS cohort_end_date
FROM condition_occurrence
WHERE condition_concept_id IN (
    SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = 192671
)
