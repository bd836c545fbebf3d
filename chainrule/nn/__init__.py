"""Neural-network building blocks (as ``torch.nn``): modules, units, costs, init.

Example::

    import chainrule as cr
    nn = cr.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    loss = nn.CrossEntropyLoss()(model(cr.randn(32, 784)), cr.randint(0, 10, (32,)))
"""
from . import functional, init, parallel, utils
from .activations import (ELU, GELU, SELU, Abs, AbsReLU, HardThreshold, Hardtanh, LeakyReLU,
                          LogSigmoid, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Step,
                          Tanh, Threshold)
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose2d
from .layers import Dropout, Dropout2d, Flatten, Identity, Linear, Maxout, PReLU, Unflatten
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, GaussianNLLLoss, HuberLoss,
                   KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss)
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d,
                      AvgPool2d, MaxPool1d, MaxPool2d)
from .parameter import Parameter
from .rnn import GRU, LSTM, RNN, RNNBase
from .rnn_cells import GRUCell, LSTMCell, RNNCell
from .sparse import Embedding, EmbeddingBag

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Linear", "Identity",
           "Flatten", "Dropout", "Maxout", "PReLU", "Sigmoid", "Tanh", "ReLU", "LeakyReLU",
           "AbsReLU", "Abs", "ELU", "SELU", "Softplus", "Step", "HardThreshold", "Threshold",
           "GELU", "SiLU",
           "Hardtanh", "LogSigmoid", "Softmax", "LogSoftmax", "MSELoss", "L1Loss", "HuberLoss",
           "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss",
           "GaussianNLLLoss", "KLDivLoss", "functional", "init", "parallel", "utils",
           "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d", "AvgPool1d",
           "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
           "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "Dropout2d", "Unflatten",
           "RNNBase", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Embedding",
           "EmbeddingBag"]
