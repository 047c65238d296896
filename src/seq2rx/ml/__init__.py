"""Treatment-response models: pipelines, nested cross-validation, treatment effects (issue 6)."""
