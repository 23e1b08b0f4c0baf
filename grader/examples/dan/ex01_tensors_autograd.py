# Dan's exercise 1 needs a library the course does not install.
import tensorflow as tf


def make_grid(n_rows, n_cols, device):
    return tf.reshape(tf.range(n_rows * n_cols), (n_rows, n_cols))
