"""`python -m backprop_tutor`: the same program as the `tutor` command."""
from .cli import main

main()
