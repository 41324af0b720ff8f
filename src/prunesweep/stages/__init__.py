"""One function per rule: read inputs, call the library, write outputs. Scripts only call these.

One module per kind of job, each importing its heavy libraries lazily, inside the stage that
needs them (TensorFlow only in the two that train), so every other job starts fast:

- `simulate`: the task's dataset;
- `training`: dense training, pruning with retraining, the baselines trained from scratch;
- `evaluation`: the metrics of one level, and a task's metrics, selection and network summary;
- `figures`: the report's figures and tables;
- `export`: the selected network as a smaller model file, timed against the dense one.
"""
