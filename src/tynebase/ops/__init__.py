"""Operations: health checks and metrics (more tools arrive with the operations toolkit)."""
