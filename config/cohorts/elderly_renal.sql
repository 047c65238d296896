-- Older patients with reduced kidney function: age at or above $min_age and eGFR below
-- $max_egfr mL/min/1.73 m2 (CKD stage 3 or worse starts at eGFR < 60).
-- Patients with either value missing are excluded.
SELECT patient, age, egfr
FROM patients
WHERE age >= $min_age
  AND egfr < $max_egfr
