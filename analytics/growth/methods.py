"""The growth fit methods and the default one (a leaf module: the CLI reads it to build its parser)."""

#: Least squares on the cumulative counts, and maximum likelihood of the event times.
METHODS: tuple[str, ...] = ("lsq", "mle")
#: The method `hubscape growth fit` and `api.fit` use unless told: chosen by the backtests in docs/growth.md.
DEFAULT_METHOD = "mle"
