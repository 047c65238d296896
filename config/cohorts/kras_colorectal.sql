-- KRAS-mutant colorectal cancer: a protein-altering somatic KRAS call that passed the filters,
-- in a patient whose tumour is colorectal (OncoTree COADREAD and its children COAD, READ).
-- Parameters: $driver_gene
SELECT p.patient, p.tumor_type,
       string_agg(DISTINCT v.hgvs_p, ';' ORDER BY v.hgvs_p) AS kras_changes
FROM patients AS p
JOIN variants AS v ON v.patient = p.patient
WHERE p.tumor_type IN ('COADREAD', 'COAD', 'READ')
  AND v.origin = 'somatic'
  AND v.filter = 'PASS'
  AND v.gene = $driver_gene
  AND v.consequence IN ('missense', 'stop_gained', 'frameshift', 'inframe_insertion', 'inframe_deletion',
                        'inframe_altering', 'splice_donor', 'splice_acceptor', 'start_lost', 'stop_lost')
GROUP BY p.patient, p.tumor_type
