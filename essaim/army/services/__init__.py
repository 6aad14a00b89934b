"""Services of the army, one module per area (signup, profile, lifecycle, teams)."""
