"""scikit-learn estimators over fastnn: :class:`MLPClassifier` and :class:`MLPRegressor`.

They take the parameters of ``sklearn.neural_network``'s estimators, with the
same names and meanings, and train a fastnn :class:`~fastnn.Sequential`
(``model_`` once fitted) with fastnn's kernels. Anything that works with a
scikit-learn estimator works with them: ``clone``, pickling, ``Pipeline``,
``cross_val_score``, ``GridSearchCV`` and ``RandomizedSearchCV`` in parallel
(loky, or a Dask cluster through joblib's dask backend).

What the training minimises is scikit-learn's objective: the mean loss over
a mini-batch (log-loss for classification, half the squared error for
regression) plus ``0.5 * alpha * ||W||^2 / batch_size`` over the weights (not
the biases). The batch size in the L2 term is the nominal one: a short last
batch of an epoch has the same penalty weight as the others (scikit-learn
divides by the short batch's own size). Weights start from fastnn's
``init`` (Glorot uniform by default, as scikit-learn; biases start at zero),
and the optimisers follow PyTorch's update equations, so the same
hyper-parameters give models of the same quality, not the same numbers.

Results are deterministic for a given ``random_state`` and do not depend on
the number of threads. Requires scikit-learn >= 1.6 (``pip install
'scikit-learn>=1.6' threadpoolctl``, or ``pip install '.[sklearn]'`` in fastnn's
source folder).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, MultiOutputMixin, RegressorMixin, is_classifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state, check_scalar
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as exc:
    raise ImportError(
        "fastnn.sklearn needs scikit-learn >= 1.6: pip install 'scikit-learn>=1.6' threadpoolctl "
        "(or, in fastnn's source folder, pip install '.[sklearn]')"
    ) from exc

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import layers as _layers, losses as _losses, optim as _optim
from .callbacks import Callback
from .model import MLP

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["MLPClassifier", "MLPRegressor"]

_STOCHASTIC_SOLVERS = ("sgd", "adam", "adagrad", "rmsprop")
_SOLVERS = ("lbfgs", *_STOCHASTIC_SOLVERS)
_LEARNING_RATES = ("constant", "invscaling", "adaptive")
# scikit-learn's name for the logistic sigmoid; the other names are fastnn's own
_ACTIVATION_ALIASES = {"logistic": "sigmoid"}
# the adaptive schedule divides the rate by 5 until it falls to this, then stops (as scikit-learn)
_ADAPTIVE_MIN_LR = 1e-6


class _MultilabelLogLoss(_losses.SigmoidBinaryCrossEntropy):
    """The sigmoid binary cross-entropy of fastnn.losses over k output units, one per label.

    The loss, its gradient and the probabilities are the single-unit loss's
    own (they are elementwise, summed over the units and averaged over the
    samples, which is scikit-learn's multilabel log-loss); only the shapes it
    accepts and what counts as a correct prediction (every label right)
    differ. The C engine trains one unit only, so a multilabel model trains
    layer by layer through the same compiled kernels.
    """

    name = "multilabel_sigmoid_binary_cross_entropy"

    def check_outputs(self, n_outputs):
        if n_outputs < 1:
            raise ValueError(f"the multilabel loss needs at least 1 output unit, got {n_outputs}")

    def targets(self, y, n, n_outputs, dtype, name="y"):
        y = np.asarray(y)
        if y.shape != (n, n_outputs):
            raise ValueError(f"{name} must have shape ({n}, {n_outputs}), got shape {y.shape}")
        if y.size and not np.isin(y, (0, 1)).all():
            raise ValueError(f"{name} must hold 0/1 label indicators")
        return y.astype(dtype)

    def predict(self, O):
        return (O > 0).astype(int)

    def correct(self, O, y):
        return int(((O > 0) == (y != 0)).all(axis=1).sum())

    def __reduce__(self):
        return (type(self), ())


class _EpochEnd(Callback):
    """scikit-learn's end-of-epoch bookkeeping for a stochastic solver, run by fastnn's fit:
    loss_curve_, t_, the learning-rate schedule, early stopping and the stopping rule."""

    def __init__(self, estimator, n_samples, validation, incremental):
        self.estimator = estimator
        self.n_samples = n_samples
        self.validation = validation
        self.incremental = incremental
        self.stopped = False

    def on_epoch_end(self, model, epoch, logs):
        est = self.estimator
        est.n_iter_ += 1
        est.t_ += self.n_samples
        est.loss_ = float(logs["loss"]) / est._loss_scale
        est.loss_curve_.append(est.loss_)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        if self.validation is not None:
            score = est._validation_score(*self.validation)
            est.validation_scores_.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}")
            if score < est.best_validation_score_ + est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_state = model.get_state()
        else:
            if est.loss_ > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            est.best_loss_ = min(est.best_loss_, est.loss_)
        if est.solver == "sgd" and est.learning_rate == "invscaling":
            est._set_learning_rate(est.learning_rate_init / (est.t_ + 1) ** est.power_t)
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if self.validation is not None else "Training loss"
            message = (f"{what} did not improve more than tol={est.tol:f} for "
                       f"{est.n_iter_no_change} consecutive epochs.")
            if est._reduce_learning_rate(message):
                est._no_improvement_count = 0
            else:
                model.stop_training = self.stopped = True
        if self.incremental:
            model.stop_training = True


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, checks, the two kinds of solver."""

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001, power_t: float = 0.5,
                 max_iter: int = 200, shuffle: bool = True, random_state: int | np.random.RandomState | None = None,
                 tol: float = 1e-4, verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8, n_iter_no_change: int = 10,
                 max_fun: int = 15000, batch_norm: bool = False, dropout: float = 0.0, dtype: str = "float64",
                 backend: str = "c", init: str = "glorot_uniform") -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.dtype = dtype
        self.backend = backend
        self.init = init

    # ------------------------------------------------------------ parameter checks
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, (bool, np.bool_)):
            sizes = [sizes]
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
            raise TypeError("hidden_layer_sizes must be an integer or a sequence of integers, "
                            f"got {type(sizes).__name__}")
        sizes = list(sizes)
        for size in sizes:
            if isinstance(size, (bool, np.bool_)) or not isinstance(size, numbers.Integral):
                raise TypeError(f"hidden_layer_sizes must hold integers, got {sizes!r}")
            if size <= 0:
                raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(s) for s in sizes]

    def _check_params(self):
        """Every parameter checked before the data are touched (scikit-learn checks in fit, not
        in __init__ or set_params); returns the hidden sizes and fastnn's activation name."""
        sizes = self._hidden_sizes()
        if not isinstance(self.activation, str):
            raise TypeError(f"activation must be a string, got {type(self.activation).__name__}")
        activation = _ACTIVATION_ALIASES.get(self.activation, self.activation)
        try:
            _layers.Activation(activation)
        except ValueError:
            names = ("identity", "logistic", "tanh", "relu", "leaky_relu", "elu")
            raise ValueError(f"activation must be one of {names} (or another fastnn activation), "
                             f"got {self.activation!r}") from None
        for name, options in (("solver", _SOLVERS), ("learning_rate", _LEARNING_RATES),
                              ("backend", ("c", "numpy"))):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in options:
                raise ValueError(f"{name} must be one of {options}, got {value!r}")
        if self.dtype not in ("float32", "float64", np.float32, np.float64):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check_scalar(self.batch_size, "batch_size", numbers.Integral, min_val=1)
        check_scalar(self.alpha, "alpha", numbers.Real, min_val=0.0)
        check_scalar(self.learning_rate_init, "learning_rate_init", numbers.Real, min_val=0.0,
                     include_boundaries="neither")
        check_scalar(self.power_t, "power_t", numbers.Real, min_val=0.0)
        check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=1)
        check_scalar(self.tol, "tol", numbers.Real, min_val=0.0)
        check_scalar(self.momentum, "momentum", numbers.Real, min_val=0.0, max_val=1.0)
        check_scalar(self.validation_fraction, "validation_fraction", numbers.Real, min_val=0.0,
                     max_val=1.0, include_boundaries="left")
        for name in ("beta_1", "beta_2"):
            check_scalar(getattr(self, name), name, numbers.Real, min_val=0.0, max_val=1.0,
                         include_boundaries="left")
        check_scalar(self.epsilon, "epsilon", numbers.Real, min_val=0.0, include_boundaries="neither")
        check_scalar(self.n_iter_no_change, "n_iter_no_change", numbers.Integral, min_val=1)
        check_scalar(self.max_fun, "max_fun", numbers.Integral, min_val=1)
        check_scalar(self.dropout, "dropout", numbers.Real, min_val=0.0, max_val=1.0, include_boundaries="left")
        check_scalar(self.verbose, "verbose", (numbers.Integral, bool), min_val=0)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping", "batch_norm"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {type(getattr(self, name)).__name__}")
        if self.solver == "lbfgs" and self.dropout > 0:
            raise ValueError("dropout needs a stochastic solver ('sgd', 'adam', 'adagrad', 'rmsprop'): "
                             "solver='lbfgs' minimises a deterministic objective")
        return sizes, activation

    # ------------------------------------------------------------ fitting
    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Fit the model to data X and target(s) y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data (dense; sparse matrices are refused).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classification) or real targets (regression).

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        TypeError, ValueError
            For an invalid parameter or invalid data (sparse, NaN, wrong shape).
        """
        return self._fit(X, y, incremental=False)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    def _np_dtype(self):
        return np.dtype(self.dtype)

    def _fit(self, X, y, incremental):
        sizes, activation = self._check_params()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, targets = self._validate_input(X, y, incremental, reset=first_pass)
        random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(X.shape[1], sizes, activation, random_state)
        elif self.model_.out_features != self.n_outputs_:
            raise ValueError(f"y has {self.n_outputs_} outputs, but this model was fitted with "
                             f"{self.model_.out_features}")
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, targets)
        else:
            self._fit_stochastic(X, targets, random_state, incremental)
        if not all(np.isfinite(p).all() for p in self.model_.parameters().values()):
            raise ValueError("Solver produced non-finite parameter weights. The input data may "
                             "contain large values and need to be preprocessed.")
        return self

    def _initialize(self, n_features, sizes, activation, random_state):
        """A new fastnn model and fresh fitted attributes (the first fit, or a fit without warm_start)."""
        self.model_ = MLP([n_features, *sizes, self.n_outputs_], activation=activation,
                          batch_norm=bool(self.batch_norm), dropout=float(self.dropout), init=self.init,
                          loss=self._loss(), dtype=self._np_dtype().name, backend=self.backend,
                          seed=int(random_state.randint(np.iinfo(np.int32).max)))
        self.n_layers_ = len(sizes) + 2
        self.n_iter_ = 0
        self.t_ = 0
        self._optimizer = None
        self._best_state = None
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.validation_scores_ = None
                self.best_validation_score_ = None
                self.best_loss_ = np.inf

    @property
    def _loss_scale(self):
        """The factor between fastnn's loss and scikit-learn's: 1 but for a regressor with k > 1
        outputs, where scikit-learn averages the squared error over the outputs too and fastnn
        sums it. fastnn then trains k times scikit-learn's objective (L2 term included), with
        the step rules scaled to follow the same path: SGD's rate divided by k, the adaptive
        methods' epsilon multiplied by k (their steps do not change when the gradient is scaled)."""
        return 1

    def _make_optimizer(self):
        k = self._loss_scale
        if self.solver == "sgd":
            momentum = float(self.momentum)
            return _optim.SGD(lr=self.learning_rate_init / k, momentum=momentum,
                              nesterov=bool(self.nesterovs_momentum) and momentum > 0)
        if self.solver == "adam":
            return _optim.Adam(lr=self.learning_rate_init, beta1=self.beta_1, beta2=self.beta_2,
                               eps=self.epsilon * k)
        if self.solver == "adagrad":
            return _optim.AdaGrad(lr=self.learning_rate_init, eps=self.epsilon * k)
        # RMSProp's running average of g^2 is Adam's second moment: its decay is beta_2
        return _optim.RMSProp(lr=self.learning_rate_init, alpha=self.beta_2, eps=self.epsilon * k)

    def _set_learning_rate(self, lr):
        """Set the stochastic optimiser's rate to scikit-learn's ``lr`` (scaled as _loss_scale says)."""
        self._optimizer.lr = lr / (self._loss_scale if self.solver == "sgd" else 1)

    def _reduce_learning_rate(self, message):
        """The no-improvement rule: True if training goes on with a smaller rate (SGD's 'adaptive'
        schedule), False if it stops."""
        if self.solver == "sgd" and self.learning_rate == "adaptive":
            lr = self._optimizer.lr * self._loss_scale
            if lr > _ADAPTIVE_MIN_LR:
                self._set_learning_rate(lr / 5.0)
                if self.verbose:
                    print(f"{message} Setting learning rate to {lr / 5.0:f}")
                return True
            message += " Learning rate too small."
        if self.verbose:
            print(f"{message} Stopping.")
        return False

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
        return int(np.clip(self.batch_size, 1, n_samples))

    def _fit_stochastic(self, X, targets, random_state, incremental):
        if not incremental or self._optimizer is None:
            self._optimizer = self._make_optimizer()
        validation = None
        if self.early_stopping:
            stratify = targets if is_classifier(self) and targets.ndim == 1 else None
            X, X_val, targets, y_val = train_test_split(X, targets, random_state=random_state,
                                                        test_size=self.validation_fraction, stratify=stratify)
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' or the "
                                 "size of your dataset.")
            validation = (X_val, y_val)
        n_samples = X.shape[0]
        batch_size = self._batch_size(n_samples)
        self.model_.l2 = self._loss_scale * 0.5 * self.alpha / batch_size
        epoch_end = _EpochEnd(self, n_samples, validation, incremental)
        self.n_iter_ = 0
        try:
            self.model_.fit(X, targets, epochs=1 if incremental else self.max_iter, batch_size=batch_size,
                            optimizer=self._optimizer, shuffle=bool(self.shuffle), verbose=0,
                            callbacks=[epoch_end])
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        if validation is not None and self._best_state is not None:
            # the best epoch's weights (of this fit, or of an earlier one when warm-started)
            self.model_.set_state(self._best_state)
        if not incremental and not epoch_end.stopped and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning)

    def _fit_lbfgs(self, X, targets):
        """Full-batch L-BFGS-B (scipy) on fastnn's loss and gradients, as scikit-learn's solver."""
        from scipy.optimize import minimize

        model = self.model_
        k = self._loss_scale
        model.l2 = k * 0.5 * self.alpha / X.shape[0]
        model.train()  # batch statistics in BatchNorm, as the stochastic solvers train
        params = model.parameters()
        names = list(params)
        ends = np.cumsum([params[name].size for name in names])
        starts = ends - np.array([params[name].size for name in names])

        def load(x):
            for name, start, end in zip(names, starts, ends):
                p = params[name]
                p[...] = x[start:end].reshape(p.shape)

        def loss_and_gradient(x):
            load(x)
            J, grads = model.loss_and_gradients(X, targets)
            gradient = np.concatenate([grads[name].ravel() for name in names]).astype(np.float64)
            return J / k, gradient / k

        x0 = np.concatenate([params[name].ravel() for name in names]).astype(np.float64)
        result = minimize(loss_and_gradient, x0, method="L-BFGS-B", jac=True,
                          options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        load(result.x)
        self.n_iter_ = int(result.nit)
        self.loss_ = float(result.fun)
        if self.verbose:
            print(f"L-BFGS-B: {self.n_iter_} iterations, {result.nfev} evaluations, loss = {self.loss_:.8f}: "
                  f"{result.message}")
        if result.status != 0:
            warnings.warn(f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status={result.status}): "
                          f"{result.message}. Increase the number of iterations (max_iter) or scale the data.",
                          ConvergenceWarning)

    # ------------------------------------------------------------ inference
    def _input(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=self.model_.dtype)

    # ------------------------------------------------------------ scikit-learn's fitted attributes
    def _dense_layers(self):
        return [layer for layer in self.model_.layers if isinstance(layer, _layers.Dense)]

    @property
    def coefs_(self) -> list[NDArray[Any]]:
        """The Dense layers' weights in scikit-learn's orientation, (in, out): views of the model's
        live arrays (``W.T``). With ``batch_norm``, BatchNorm's scale and shift live in ``model_``."""
        check_is_fitted(self)
        return [layer.W.T for layer in self._dense_layers()]

    @property
    def intercepts_(self) -> list[NDArray[Any]]:
        """The Dense layers' biases (the model's live arrays; zeros for a layer without one, as the
        hidden layers have with ``batch_norm``, where BatchNorm's shift plays that part)."""
        check_is_fitted(self)
        return [layer.b if layer.bias else np.zeros(layer.out_features, dtype=self.model_.dtype)
                for layer in self._dense_layers()]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier trained by fastnn, with ``sklearn.neural_network.MLPClassifier``'s
    parameters and attributes.

    Labels may be of any kind (strings, integers, booleans); a 2-D 0/1 indicator ``y``
    is multilabel (one sigmoid output per label). Two classes train one sigmoid output,
    more train a softmax.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Widths of the hidden layers.
    activation : str, default='relu'
        Hidden activation: 'identity', 'logistic', 'tanh', 'relu', or fastnn's 'leaky_relu', 'elu'.
    solver : {'adam', 'sgd', 'lbfgs', 'adagrad', 'rmsprop'}, default='adam'
        'lbfgs' is full-batch L-BFGS-B (scipy) on fastnn's loss and gradients; the others train
        in mini-batches. 'rmsprop' uses ``beta_2`` as its squared-gradient decay; 'adam',
        'adagrad' and 'rmsprop' use ``epsilon``.
    alpha : float, default=1e-4
        L2 penalty: ``0.5 * alpha * ||W||^2 / batch_size`` added to the mean loss.
    batch_size : int or 'auto', default='auto'
        'auto' is min(200, n_samples); larger values are clipped, with a warning.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        SGD's schedule, as in scikit-learn (per epoch).
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start, \
momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon, \
n_iter_no_change, max_fun
        As in scikit-learn. ``max_iter`` counts epochs (iterations for 'lbfgs').
    batch_norm : bool, default=False
        BatchNorm after each hidden Dense layer (whose bias it replaces).
    dropout : float, default=0.0
        Dropout probability after each hidden activation (stochastic solvers only).
    dtype : {'float64', 'float32'}, default='float64'
        The precision of the model and of its computations.
    backend : {'c', 'numpy'}, default='c'
        fastnn's compiled kernels or its NumPy reference.
    init : str, default='glorot_uniform'
        A weight initialiser from :mod:`fastnn.init`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (for multilabel, ``arange(n_labels)``).
    loss_, loss_curve_, best_loss_, validation_scores_, best_validation_score_, n_iter_, t_, \
coefs_, intercepts_, n_layers_, n_outputs_, out_activation_, n_features_in_, feature_names_in_
        As in scikit-learn (``coefs_`` are (in, out) views of the model's weights).
    model_ : fastnn.Sequential
        The trained network.
    """

    def _loss(self):
        if self._multilabel:
            return _MultilabelLogLoss()
        return "sigmoid_binary_cross_entropy" if self.n_outputs_ == 1 else "softmax_cross_entropy"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=False, multi_output=True, dtype=self._np_dtype(),
                             reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(f"MLPClassifier needs binary, multiclass or multilabel-indicator targets, got {kind}")
        classes = unique_labels(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._set_classes(classes, kind == "multilabel-indicator")
        elif self.warm_start and not incremental:
            if set(classes) != set(self.classes_):
                raise ValueError("warm_start can only be used where `y` has the same classes as in the "
                                 f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
        elif len(np.setdiff1d(classes, self.classes_)):
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                             f"'y' has {classes}.")
        if (kind == "multilabel-indicator") != self._multilabel:
            raise ValueError(f"y is {kind}, but this model was fitted on "
                             f"{'multilabel' if self._multilabel else 'single-label'} targets")
        if self._multilabel:
            if y.shape[1] != self.n_outputs_:
                raise ValueError(f"y has {y.shape[1]} labels, but this model was fitted with {self.n_outputs_}")
            return X, y
        return X, np.searchsorted(self.classes_, y)

    def _set_classes(self, classes, multilabel):
        """classes_, the output layer and the loss for these classes (a fit's first pass)."""
        if not multilabel and len(classes) < 2:
            raise ValueError(f"MLPClassifier needs samples of at least 2 classes, got 1 class ({classes[0]!r})")
        self._multilabel = multilabel
        self.classes_ = classes
        if multilabel:
            self.n_outputs_, self.out_activation_ = len(classes), "logistic"
        elif len(classes) == 2:
            self.n_outputs_, self.out_activation_ = 1, "logistic"
        else:
            self.n_outputs_, self.out_activation_ = len(classes), "softmax"

    def _validation_score(self, X, y):
        codes = self.model_.predict(X)
        return accuracy_score(y, codes)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None) -> Self:
        """Update the model with one epoch over (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            The target labels.
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole problem: needed on the first call, and then only
            the same classes may be given again.

        Returns
        -------
        self : object
            The updated estimator.

        Raises
        ------
        ValueError
            Without ``classes`` on the first call, or with classes that differ from the first
            call's; for labels outside them; for early_stopping=True.
        """
        if classes is not None:
            classes = unique_labels(classes)
        if getattr(self, "classes_", None) is None:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._check_params()
            kind = type_of_target(np.asarray(y)) if not hasattr(y, "toarray") else None
            self._set_classes(classes if kind != "multilabel-indicator" else unique_labels(y),
                              kind == "multilabel-indicator")
        elif classes is not None and not np.array_equal(classes, self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to partial_fit, "
                             f"was: {self.classes_!r}")
        return self._fit(X, y, incremental=True)

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels from ``classes_`` (a 0/1 indicator array for multilabel).
        """
        X = self._input(X)
        codes = self.model_.predict(X)
        return codes if self._multilabel else self.classes_[codes]

    def predict_proba(self, X: ArrayLike) -> NDArray[Any]:
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Column j is the probability of ``classes_[j]`` (of label j for multilabel).
        """
        X = self._input(X)
        proba = self.model_.predict_proba(X)
        if self.n_outputs_ == 1 and not self._multilabel:
            return np.hstack([1 - proba, proba])
        return proba

    def predict_log_proba(self, X: ArrayLike) -> NDArray[Any]:
        """The logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(MultiOutputMixin, RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor trained by fastnn, with ``sklearn.neural_network.MLPRegressor``'s
    parameters and attributes.

    It minimises half the squared error (averaged over samples and outputs, as scikit-learn)
    plus the L2 term; ``y`` may be 1-D or 2-D (several outputs) and ``score`` is R^2. The
    parameters and attributes are :class:`MLPClassifier`'s (but ``classes_``); the output
    activation is the identity.

    Parameters
    ----------
    (the Parameters section of :class:`MLPClassifier`, placed here when the module loads)

    Attributes
    ----------
    loss_, loss_curve_, best_loss_, validation_scores_, best_validation_score_, n_iter_, t_, \
coefs_, intercepts_, n_layers_, n_outputs_, out_activation_, n_features_in_, feature_names_in_
        As in scikit-learn (``coefs_`` are (in, out) views of the model's weights).
    model_ : fastnn.Sequential
        The trained network.
    """

    def _loss(self):
        return "mse"

    @property
    def _loss_scale(self):
        return self.n_outputs_

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=False, multi_output=True, y_numeric=True,
                             dtype=self._np_dtype(), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if reset or not hasattr(self, "n_outputs_"):
            self.n_outputs_ = n_outputs
            self.out_activation_ = "identity"
        elif n_outputs != self.n_outputs_:
            raise ValueError(f"y has {n_outputs} outputs, but this model was fitted with {self.n_outputs_}")
        return X, y.reshape(X.shape[0], n_outputs)

    def _validation_score(self, X, y):
        return r2_score(y, self.model_.predict(X))

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Update the model with one epoch over (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.

        Returns
        -------
        self : object
            The updated estimator.

        Raises
        ------
        ValueError
            For early_stopping=True, or targets with another number of outputs than before.
        """
        return self._fit(X, y, incremental=True)

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Predict targets.


        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The network's outputs (1-D when it was fitted on a 1-D y).
        """
        X = self._input(X)
        out = self.model_.predict(X)
        return out.ravel() if self.n_outputs_ == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


def _share_parameters(target, source) -> None:
    """Put ``source``'s Parameters section in place of ``target``'s placeholder: the two
    estimators take the same parameters, described once, in MLPClassifier's docstring."""
    if target.__doc__ is None or source.__doc__ is None:  # python -OO
        return
    start = source.__doc__.index("    Parameters\n")
    section = source.__doc__[start:source.__doc__.index("    Attributes\n", start)]
    placeholder = target.__doc__.index("    Parameters\n")
    end = target.__doc__.index("    Attributes\n", placeholder)
    target.__doc__ = target.__doc__[:placeholder] + section + target.__doc__[end:]


_share_parameters(MLPRegressor, MLPClassifier)
