from essaim.lib.compiled import use_compiled

# message (the campaign message builder) may run from its mypyc build: see essaim.lib.compiled.
use_compiled(__name__, __path__)
