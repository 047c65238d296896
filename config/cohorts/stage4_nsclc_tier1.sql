-- Stage IV non-small cell lung cancer with a tier I target: stage IV at diagnosis (the patients
-- table: the clinical table, or derived from the OMOP CDM), a tumour of OncoTree NSCLC or one of its
-- descendants in resources/kb/actionability/oncotree.tsv (LUAD, MLUAD, LUSC, LCLC, LUAS, NSCLCPD;
-- a test keeps this list in step with that file), and an AMP/ASCO/CAP tier I alteration that offers
-- a therapy (sensitive, not overridden by a co-occurring resistance alteration).
SELECT p.patient, p.tumor_type,
       string_agg(DISTINCT a.gene || ' ' || a.alteration, ';' ORDER BY a.gene || ' ' || a.alteration) AS tier1_targets,
       string_agg(DISTINCT a.therapies, ';' ORDER BY a.therapies) AS therapies
FROM patients AS p
JOIN actionable AS a ON a.patient = p.patient
WHERE p.stage = 'IV'
  AND p.tumor_type IN ('NSCLC', 'LUAD', 'MLUAD', 'LUSC', 'LCLC', 'LUAS', 'NSCLCPD')
  AND a.tier LIKE 'I-%'
  AND a.response = 'sensitive'
  AND coalesce(a.overridden, 'false') <> 'true'
GROUP BY p.patient, p.tumor_type
