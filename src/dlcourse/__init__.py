"""dlcourse: the reference implementations, data loaders, training loop and grading
helpers of the French deep-learning course-book.

One module per lecture concept: ``perceptron``, ``activations``, ``losses``, ``mlp``,
``gradcheck``, ``capacity``, ``conv``, ``pooling``, ``optim``, ``layers``, ``attention``
(NumPy reference implementations, proven equal to PyTorch by the tests); ``data``,
``models``, ``train`` (PyTorch data, models and training loop); ``widgets`` and ``book``
(for the book's pages); ``grading`` and ``grade`` (hidden tests and the instructor's
grading command).
Import the module you need::

    from dlcourse import perceptron, conv
"""

__version__ = "0.1.0"
