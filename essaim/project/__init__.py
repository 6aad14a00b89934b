"""The project-level app: wiring that belongs to no pillar (it sits above them all)."""
