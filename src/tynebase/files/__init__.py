"""Files: blob storage (local directory or S3), limits and quotas, signed downloads, imports."""
