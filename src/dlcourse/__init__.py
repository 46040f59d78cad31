"""dlcourse: the reference implementations, data loaders, training loop and grading
helpers of the French deep-learning course-book.

One module per lecture concept (``perceptron``, ``mlp``, ``activations``, ``losses``,
``conv``, ``pooling``, ``optim``, ``layers``, ``attention``, ``data``, ``models``,
``train``, ``widgets``, ``grading``). Import the module you need::

    from dlcourse import perceptron, conv
"""

__version__ = "0.1.0"
