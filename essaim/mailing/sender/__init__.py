from essaim.lib.compiled import use_compiled

# smtp (the SMTP client) may run from its mypyc build: see essaim.lib.compiled.
use_compiled(__name__, __path__)
