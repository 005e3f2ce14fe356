"""The bundled problem files, installed with the package as backprop_tutor.problems."""
