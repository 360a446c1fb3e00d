"""Documents: content, workflow (draft → review → published), versions, lineage, shares."""
