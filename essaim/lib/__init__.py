from essaim.lib.compiled import use_compiled

# signing (the keyed hashes of the codes campaign mail carries) may run from its mypyc build:
# see essaim.lib.compiled.
use_compiled(__name__, __path__)
