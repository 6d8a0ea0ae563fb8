"""Ray Tune glue: search spaces from the models' declared ones (`space.py`) and the trial
function, in one process or as a Ray Train run of several workers (`trial.py`)."""
