"""Figures the notebooks share. Each function draws on Matplotlib and returns the figure.

Use the package (``from utils import plots``); it re-exports the public names of its modules,
grouped by kind of figure:

- ``images``: grids of images and of predictions, pixel statistics per class, heatmaps over images
  (titled by the caller: plots import nothing from ``utils.interpret``), convolution kernels and
  filters, and pictures of the hand-crafted features (region, HOG, LBP);
- ``metrics``: gradient descent on a loss surface, learning curves (also of several learning rates),
  cross-validation scores, the confusion matrix, ROC curves, comparisons of models and methods,
  deletion and insertion curves;
- ``interpret``: the measures of explanations: the cascading randomisation check, means with intervals;
- ``embeddings``: exploring a data set: class balance, pixel statistics, 2-D maps of data, principal
  components and the variance they keep, the BIC of each number of clusters, clusters against
  classes, images generated at a grid of points;
- ``style``: the course's figure sizes, which fit JupyterLab's output width so text stays legible.
"""

from utils.plots.embeddings import (
    plot_class_balance,
    plot_contingency,
    plot_cumulative_variance,
    plot_embedding,
    plot_embeddings,
    plot_inverse_grid,
    plot_mixture_selection,
    plot_pixel_overview,
    show_components,
)
from utils.plots.images import (
    plot_heatmap_grid,
    plot_hog_pictures,
    plot_lbp_codes,
    plot_pixel_statistics,
    plot_region,
    show_filters,
    show_images,
    show_kernels_and_responses,
    show_misclassified,
    show_predictions,
)
from utils.plots.interpret import plot_cascade, plot_cascade_similarity, plot_method_intervals
from utils.plots.metrics import (
    plot_accuracy_vs_labels,
    plot_confusion_matrix,
    plot_cv_scores,
    plot_deletion_insertion,
    plot_descent,
    plot_learning_curves,
    plot_learning_rates,
    plot_model_comparison,
    plot_roc,
)
from utils.plots.style import MAX_WIDTH, displayed_text_px, fit_width
