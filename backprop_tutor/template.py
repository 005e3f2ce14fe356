"""The template `tutor new --template` writes: a commented problem file that solves as written."""
from __future__ import annotations

# Every number below is a stand-in to overwrite; the file loads and solves as it stands, so each
# change can be checked at once with `tutor solve`.
TEMPLATE = """\
# A problem file to fill in with your own sheet's numbers. It solves as it stands:
# run `tutor solve FILE` after each change. Every number below is an example value
# (0.1, 0.2, 0.3, ...) to replace with the sheet's. The guide: docs/problem-format.md.

title: "My sheet: a 2-2-1 network"          # a heading for the solution
source: "Course, Sheet N, Exercise M"         # where the exercise comes from
notes: >
  Given $x = (1, 2)^\\top$, a ReLU hidden layer, a linear output and the loss
  $L = \\sum_i (y_i - t_i)^2$; learning rate $\\alpha = 0.1$.

inputs:
  x: [1, 2]                 # the input vector: one number per input unit

network:
  layout: Wx                # Wx: one row per neuron (z = W x + b); xW: one row per input
  input: x
  layers:                   # one line per layer: its weights, bias and activation
    - {weights: [[0.1, 0.2], [0.3, 0.4]], bias: [0.1, 0.2], activation: relu}
    - {weights: [[0.5, 0.6]], bias: [0.3], activation: linear}
  # activations: relu, sigmoid, tanh, linear (the output of a regression)
  # leave a layer's bias: out for a sheet without biases

targets:
  t: [1]                    # the target of the output y
loss: sse(y, t)             # or half_sse, mse, or cross_entropy(softmax(y), t) with a one-hot t
learning_rate: 0.1          # the step size of one gradient-descent update

ask:                        # the sheet's parts in its order; delete this block for the whole solution
  - {part: a, show: forward}
  - {part: b, show: loss}
  - {part: c, gradient: "W1[2,1]"}        # W1[row,column], counted from 1, as the matrix is written
  - {part: d, update: ["W1[2,1]"]}
  - {part: e, show: loss_after_update}
"""


def template() -> str:
    """The text of the fill-in template (YAML with comments)."""
    return TEMPLATE
