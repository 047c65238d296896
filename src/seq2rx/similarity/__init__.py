"""Patient similarity networks: per-data-type distances and affinities, similarity network fusion
(Wang et al. 2014), spectral subtypes, nearest past patients with their tumour type, main driver and outcomes, and plots.

See :mod:`.network` for the entry points the workflow calls.
"""

from seq2rx.similarity.clusters import Clusters, eigengaps, spectral_clusters
from seq2rx.similarity.distances import (
    expression_distance,
    genomic_distance,
    gower_distance,
    jaccard_distance,
    mismatch_distance,
)
from seq2rx.similarity.drivers import main_drivers
from seq2rx.similarity.fusion import affinity, fuse
from seq2rx.similarity.network import Network, build_network, modality_distances, network_summary, similar_patients

__all__ = [
    "Clusters",
    "Network",
    "affinity",
    "build_network",
    "eigengaps",
    "expression_distance",
    "fuse",
    "genomic_distance",
    "gower_distance",
    "jaccard_distance",
    "main_drivers",
    "mismatch_distance",
    "modality_distances",
    "network_summary",
    "similar_patients",
    "spectral_clusters",
]
