"""What does a CNN look at? Eight attribution methods, activation maximization, and measures.

Every attribution method follows one contract::

    heatmap = method(model, image, class_index, **options)

``image`` is one float image of shape (H, W, C), as made by ``utils.models.to_model_input`` (or the
InceptionV3 pipeline); ``heatmap`` (a :data:`Heatmap`) is a float32 array of shape (H, W) scaled to
[0, 1], where larger means more important *for* ``class_index`` (evidence against the class is set
to 0; :func:`to_heatmap` makes one from any 2-D attribution map). With ``signed=True`` (a keyword
every method takes) the map keeps the evidence against the class, values in [-1, 1]; the measures
rank that map. Saliency and SmoothGrad measure a magnitude and return the same map either way. ``model`` is a Keras classifier
whose output is softmax probabilities and whose pre-softmax score is either a layer named
``"logits"`` or the last layer, a Dense layer with softmax activation (explained through the same
weights with a linear activation). Gradient methods explain the pre-softmax score: the softmax
saturates near probability 1, so its gradient says little about a confident prediction. ``options``
are keyword-only and all have defaults (fix some with ``functools.partial``).

The registry :data:`ATTRIBUTION_METHODS` maps each method's name to the function (what
:func:`evaluate_methods` measures by default and the notebooks loop over); :data:`LABELS` gives
their figure titles:

============================  ============================================================  ==============
Method                        Idea                                                          Model calls
============================  ============================================================  ==============
:func:`saliency`              gradient of the class score w.r.t. the pixels                 1 backward
:func:`smoothgrad`            the gradient averaged over noisy copies of the image          n backward
:func:`integrated_gradients`  gradients summed along a path from a black image              steps backward
:func:`occlusion`             how much the score drops when a patch is hidden               one per patch
:func:`cam`                   the last feature maps weighted by the class's Dense weights   1
:func:`grad_cam`              feature maps weighted by their mean gradient                  1 backward
:func:`grad_cam_plus_plus`    Grad-CAM with pixel-wise weights of the positive gradients    1 backward
:func:`lime`                  a linear model of the score over superpixels switched on/off  n forward
============================  ============================================================  ==============

Model calls are batched and compiled with ``tf.function`` once per model. The measures:
:func:`deletion_insertion` (Petsiuk et al., 2018) on the signed map, :func:`randomization_cascade`
with :func:`map_similarity` (the model-parameter randomisation check of Adebayo et al., 2018, from
the logits down), :func:`timed` (the median time of a call), :func:`evaluate_methods`, which gathers
faithfulness and time in one table, and :func:`summarize`, :func:`compare` and :func:`judge_claim`,
which read such tables with bootstrap intervals. :data:`RANDOM_METHODS` names the methods that take
a ``seed``; the measures repeat them over seeds.

Use the package (``from utils import interpret``); it re-exports the public names of its modules:
``plumbing`` (argument checks, the model's pre-softmax score and feature maps, compiled calls),
``methods`` (the attribution methods and :func:`activation_maximization`) and ``measures``.
"""

from utils.interpret.localization import (
    LOCALIZATION_MEASURES,
    chance_levels,
    energy_ratio,
    localization_table,
    pointing_game,
    summarize_localization,
    top_overlap,
)
from utils.interpret.measures import (
    HIGHER_IS_BETTER,
    MEASURES,
    DeletionInsertion,
    Difference,
    blurred_keeps_class,
    compare,
    deletion_insertion,
    evaluate_methods,
    format_intervals,
    judge_claim,
    map_similarity,
    pixel_order,
    randomization_cascade,
    randomized_copy,
    rank_correlation,
    rank_of,
    seed_variation,
    summarize,
    timed,
)
from utils.interpret.methods import (
    ATTRIBUTION_METHODS,
    AttributionMethod,
    Heatmap,
    RANDOM_METHODS,
    LimeExplanation,
    activation_maximization,
    cam,
    grad_cam,
    grad_cam_plus_plus,
    integrated_gradients,
    integrated_gradients_attributions,
    lime,
    lime_explanation,
    occlusion,
    occlusion_geometry,
    saliency,
    smoothgrad,
    superpixels,
    to_heatmap,
)
from utils.interpret.plumbing import DEFAULT_BATCH_SIZE, TARGETS, predict_scores
from utils.plots import LABELS  # notebook 05 titles its figures with interpret.LABELS
