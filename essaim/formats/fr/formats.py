"""French number formats beyond Django's own (FORMAT_MODULE_PATH): French typography groups
thousands with a narrow no-break space ("2 249"), where Django's locale has a full one. Every
other format comes from Django's fr locale."""

THOUSAND_SEPARATOR = "\u202f"
