"""The field names of TAO's TF1 experiment specs, to tell a misspelt field from a new one.

`taostream spec set` creates a field that is not in the spec yet; a misspelt one (``num_epoch``)
would make TAO's trainer reject the spec, or, in a map, be silently ignored. The table below holds
each spec message's field names as TAO's protobuf definitions (``nvidia_tao_tf1/cv/*/proto`` in
NVIDIA/tao_tensorflow1_backend, TAO 5.x) declare them: ``name`` is a scalar or enum field,
``name=MESSAGE`` a message field, ``name={}`` a map to scalars and ``name={MESSAGE}`` a map to
messages (in the text format a map entry is ``name { key: ... value: ... }``). A spec file is
judged against every root below whose top-level fields include all of the file's; a file that fits
none (an older TLT spec, another tool's) cannot be judged, and `spec set` only warns there."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache

from taostream.converter.tao_spec import SpecMessage, split_path

# The spec kinds a file can be: what the user calls it -> its root message.
ROOTS = {
    "classification": "makenet.Experiment",
    "detectnet_v2": "detectnet_v2.Experiment",
    "detectnet_v2 inference": "detectnet_v2.Inference",
    "dataset_convert": "detectnet_v2.DatasetExportConfig",
    "faster_rcnn": "faster_rcnn.Experiment",
    "ssd/dssd": "ssd.Experiment",
    "retinanet": "retinanet.Experiment",
    "yolo_v3": "yolo_v3.Experiment",
    "yolo_v4/yolo_v4_tiny": "yolo_v4.Experiment",
    "mask_rcnn": "mask_rcnn.Experiment",
    "efficientdet (TF1)": "efficientdet.Experiment",
    "lprnet": "lprnet.Experiment",
    "unet": "unet.Experiment",
    "multitask_classification": "multitask_classification.Experiment",
}

_MESSAGES = {
    "common.AdamOptimizerConfig": "amsgrad beta1 beta2 epsilon",
    "common.ClassWeightingConfig": "class_weighting={} enable_auto",
    "common.ClearMLConfig": "continue_last_task deferred_init project reuse_last_task_id tags task",
    "common.CostScalingConfig": "decrement enabled increment initial_exponent",
    "common.DataSource": "image_directory_path label_directory_path root_path tfrecords_path",
    "common.DatasetConfig": (
        "data_sources=common.DataSource include_difficult_in_training "
        "target_class_mapping={} type validation_data_sources=common.DataSource"),
    "common.EarlyStopping": "min_delta monitor patience",
    "common.EvalConfig": "average_precision_mode batch_size matching_iou_threshold visualize_pr_curve",
    "common.LearningRateConfig": (
        "soft_start_annealing_schedule=common.SoftStartAnnealingScheduleConfig "
        "soft_start_cosine_annealing_schedule=common.SoftStartCosineAnnealingScheduleConfig"),
    "common.NMSConfig": "clustering_iou_threshold confidence_threshold force_on_cpu infer_nms_score_bits top_k",
    "common.OptimizerConfig": (
        "adam=common.AdamOptimizerConfig rmsprop=common.RMSpropOptimizerConfig "
        "sgd=common.SGDOptimizerConfig"),
    "common.RMSpropOptimizerConfig": "centered epsilon momentum rho",
    "common.RegularizerConfig": "type weight",
    "common.SGDOptimizerConfig": "momentum nesterov",
    "common.SoftStartAnnealingScheduleConfig": "annealing max_learning_rate min_learning_rate soft_start",
    "common.SoftStartCosineAnnealingScheduleConfig": "max_learning_rate min_learning_rate soft_start",
    "common.TrainingConfig": (
        "batch_size_per_gpu checkpoint_interval cost_scaling=common.CostScalingConfig "
        "early_stopping=common.EarlyStopping enable_qat "
        "learning_rate=common.LearningRateConfig max_queue_size model_ema n_workers "
        "num_epochs optimizer=common.OptimizerConfig pretrain_model_path "
        "pruned_model_path regularizer=common.RegularizerConfig resume_model_path "
        "use_multiprocessing visualizer=common.VisualizerConfig"),
    "common.VisualizerConfig": (
        "clearml_config=common.ClearMLConfig enabled num_images "
        "wandb_config=common.WandBConfig weight_histograms"),
    "common.WandBConfig": "enabled entity key mode name notes project reinit tags wandb_dir",
    "detectnet_v2.AdamOptimizerConfig": "beta1 beta2 epsilon",
    "detectnet_v2.AugmentationConfig": (
        "color_augmentation=detectnet_v2.AugmentationConfig.ColorAugmentation "
        "preprocessing=detectnet_v2.AugmentationConfig.Preprocessing "
        "spatial_augmentation=detectnet_v2.AugmentationConfig.SpatialAugmentation"),
    "detectnet_v2.AugmentationConfig.ColorAugmentation": (
        "color_shift_stddev contrast_center "
        "contrast_scale_max hue_rotation_max "
        "saturation_shift_max"),
    "detectnet_v2.AugmentationConfig.Preprocessing": (
        "crop_bottom crop_left crop_right crop_top "
        "enable_auto_resize min_bbox_height min_bbox_width "
        "output_image_channel output_image_height "
        "output_image_max output_image_min output_image_width "
        "scale_height scale_width"),
    "detectnet_v2.AugmentationConfig.SpatialAugmentation": (
        "hflip_probability rotate_probability "
        "rotate_rad_max translate_max_x translate_max_y "
        "vflip_probability zoom_max zoom_min"),
    "detectnet_v2.BboxHandlerConfig": (
        "classwise_bbox_handler_config={detectnet_v2.ClasswiseBboxHandlerConfig} "
        "disable_overlay kitti_dump overlay_linewidth postproc_classes "
        "wandb_config=common.WandBConfig"),
    "detectnet_v2.BboxRasterizerConfig": (
        "deadzone_radius "
        "target_class_config={detectnet_v2.BboxRasterizerConfig.TargetClassConfig}"),
    "detectnet_v2.BboxRasterizerConfig.TargetClassConfig": (
        "bbox_min_radius cov_center_x cov_center_y "
        "cov_radius_x cov_radius_y"),
    "detectnet_v2.COCOConfig": "annotation_files img_dir_names num_partitions num_shards root_directory_path",
    "detectnet_v2.CalibratorConfig": "calibration_cache calibration_tensorfile n_batches",
    "detectnet_v2.ClasswiseBboxHandlerConfig": (
        "bbox_color=detectnet_v2.ClasswiseBboxHandlerConfig.BboxColor "
        "clustering_config=detectnet_v2.ClusteringConfig "
        "confidence_model output_map"),
    "detectnet_v2.ClasswiseBboxHandlerConfig.BboxColor": "B G R",
    "detectnet_v2.ClusteringConfig": (
        "clustering_algorithm coverage_threshold dbscan_confidence_threshold "
        "dbscan_eps dbscan_min_samples minimum_bounding_box_height "
        "neighborhood_size nms_confidence_threshold nms_iou_threshold"),
    "detectnet_v2.ConfidenceConfig": "confidence_model_filename confidence_threshold normalization_mode",
    "detectnet_v2.CostFunctionConfig": (
        "enable_autoweighting max_objective_weight min_objective_weight "
        "target_classes=detectnet_v2.CostFunctionConfig.TargetClass"),
    "detectnet_v2.CostFunctionConfig.TargetClass": (
        "class_weight coverage_foreground_weight name "
        "objectives=detectnet_v2.CostFunctionConfig.TargetClass.Objective"),
    "detectnet_v2.CostFunctionConfig.TargetClass.Objective": "initial_weight name weight_target",
    "detectnet_v2.CostScalingConfig": "decrement enabled increment initial_exponent",
    "detectnet_v2.DataSource": "image_directory_path source_weight tfrecords_path",
    "detectnet_v2.DatasetConfig": (
        "data_sources=detectnet_v2.DataSource dataloader_mode image_extension "
        "sampling_mode target_class_mapping={} "
        "validation_data_source=detectnet_v2.DataSource validation_fold"),
    "detectnet_v2.DatasetExportConfig": (
        "coco_config=detectnet_v2.COCOConfig image_directory_path "
        "kitti_config=detectnet_v2.KITTIConfig "
        "sample_modifier_config=detectnet_v2.DatasetExportConfig.SampleModifierConfig "
        "target_class_mapping={}"),
    "detectnet_v2.DatasetExportConfig.SampleModifierConfig": (
        "dominant_target_classes "
        "filter_samples_containing_only "
        "max_training_samples "
        "minimum_target_class_imbalance={} num_duplicates "
        "source_to_target_class_mapping={}"),
    "detectnet_v2.EarlyStoppingAnnealingScheduleConfig": (
        "annealing_epochs max_learning_rate min_learning_rate "
        "patience_steps soft_start_epochs"),
    "detectnet_v2.EvaluationConfig": (
        "average_precision_mode early_stopping_patience_steps "
        "evaluation_box_config={detectnet_v2.EvaluationConfig.EvaluationBoxConfig} "
        "first_validation_epoch minimum_detection_ground_truth_overlap={} "
        "validation_period_during_training"),
    "detectnet_v2.EvaluationConfig.EvaluationBoxConfig": (
        "maximum_height maximum_width minimum_height "
        "minimum_width"),
    "detectnet_v2.Experiment": (
        "augmentation_config=detectnet_v2.AugmentationConfig "
        "bbox_rasterizer_config=detectnet_v2.BboxRasterizerConfig "
        "cost_function_config=detectnet_v2.CostFunctionConfig "
        "dataset_config=detectnet_v2.DatasetConfig "
        "dataset_export_config=detectnet_v2.DatasetExportConfig "
        "evaluation_config=detectnet_v2.EvaluationConfig "
        "loss_mask_label_filter=detectnet_v2.ObjectiveLabelFilter "
        "model_config=detectnet_v2.ModelConfig "
        "postprocessing_config=detectnet_v2.PostProcessingConfig random_seed "
        "training_config=detectnet_v2.TrainingConfig"),
    "detectnet_v2.Inference": (
        "bbox_handler_config=detectnet_v2.BboxHandlerConfig "
        "inferencer_config=detectnet_v2.InferencerConfig"),
    "detectnet_v2.InferencerConfig": (
        "batch_size gpu_index image_channels image_height image_width input_nodes "
        "output_nodes stride target_classes "
        "tensorrt_config=detectnet_v2.TensorRTConfig "
        "tlt_config=detectnet_v2.TLTConfig"),
    "detectnet_v2.KITTIConfig": (
        "calibrations_dir image_dir_name image_extension kitti_sequence_to_frames_file "
        "label_dir_name num_partitions num_shards partition_mode point_clouds_dir "
        "root_directory_path val_split"),
    "detectnet_v2.LabelFilter": (
        "bbox_crop_label_filter=detectnet_v2.LabelFilter.BboxCropLabelFilter "
        "bbox_dimensions_label_filter=detectnet_v2.LabelFilter.BboxDimensionsLabelFilter "
        "source_class_label_filter=detectnet_v2.LabelFilter.SourceClassLabelFilter"),
    "detectnet_v2.LabelFilter.BboxCropLabelFilter": "crop_bottom crop_left crop_right crop_top",
    "detectnet_v2.LabelFilter.BboxDimensionsLabelFilter": "max_height max_width min_height min_width",
    "detectnet_v2.LabelFilter.SourceClassLabelFilter": "source_class_names",
    "detectnet_v2.LearningRateConfig": (
        "early_stopping_annealing_schedule=detectnet_v2.EarlyStoppingAnnealingScheduleConfig "
        "soft_start_annealing_schedule=detectnet_v2.SoftStartAnnealingScheduleConfig"),
    "detectnet_v2.ModelConfig": (
        "activation=detectnet_v2.ModelConfig.Activation all_projections "
        "allow_loaded_model_modification arch dropout_rate freeze_blocks freeze_bn "
        "freeze_pretrained_layers load_graph num_layers "
        "objective_set=detectnet_v2.ModelConfig.ObjectiveSet pretrained_model_file "
        "training_precision=detectnet_v2.ModelConfig.TrainingPrecision use_batch_norm "
        "use_pooling"),
    "detectnet_v2.ModelConfig.Activation": "activation_parameters={} activation_type",
    "detectnet_v2.ModelConfig.BboxObjective": "input offset scale",
    "detectnet_v2.ModelConfig.CovObjective": "input",
    "detectnet_v2.ModelConfig.ObjectiveSet": (
        "bbox=detectnet_v2.ModelConfig.BboxObjective "
        "cov=detectnet_v2.ModelConfig.CovObjective"),
    "detectnet_v2.ModelConfig.TrainingPrecision": "backend_floatx",
    "detectnet_v2.ObjectiveLabelFilter": (
        "mask_multiplier "
        "objective_label_filter_configs=detectnet_v2.ObjectiveLabelFilter.ObjectiveLabelFilterConfig "
        "preserve_ground_truth"),
    "detectnet_v2.ObjectiveLabelFilter.ObjectiveLabelFilterConfig": (
        "label_filter=detectnet_v2.LabelFilter "
        "objective_names target_class_names"),
    "detectnet_v2.OptimizerConfig": "adam=detectnet_v2.AdamOptimizerConfig",
    "detectnet_v2.PostProcessingConfig": "target_class_config={detectnet_v2.PostProcessingConfig.TargetClassConfig}",
    "detectnet_v2.PostProcessingConfig.TargetClassConfig": (
        "clustering_config=detectnet_v2.ClusteringConfig "
        "confidence_config=detectnet_v2.ConfidenceConfig"),
    "detectnet_v2.RegularizerConfig": "type weight",
    "detectnet_v2.SoftStartAnnealingScheduleConfig": "annealing max_learning_rate min_learning_rate soft_start",
    "detectnet_v2.TLTConfig": "model",
    "detectnet_v2.TensorRTConfig": (
        "backend_data_type caffemodel "
        "calibrator_config=detectnet_v2.CalibratorConfig etlt_model parser prototxt "
        "save_engine trt_engine uff_model"),
    "detectnet_v2.TrainingConfig": (
        "batch_size_per_gpu checkpoint_interval "
        "cost_scaling=detectnet_v2.CostScalingConfig enable_qat "
        "learning_rate=detectnet_v2.LearningRateConfig num_epochs "
        "optimizer=detectnet_v2.OptimizerConfig "
        "regularizer=detectnet_v2.RegularizerConfig "
        "visualizer=detectnet_v2.VisualizerConfig"),
    "detectnet_v2.VisualizerConfig": (
        "clearml_config=common.ClearMLConfig enabled infrequent_logging_frequency "
        "num_images scalar_logging_frequency "
        "target_class_config={detectnet_v2.VisualizerConfig.TargetClassConfig} "
        "wandb_config=common.WandBConfig"),
    "detectnet_v2.VisualizerConfig.TargetClassConfig": "coverage_threshold",
    "efficientdet.AugConfig": "rand_hflip random_crop_max_scale random_crop_min_scale",
    "efficientdet.DatasetConfig": (
        "image_size max_instances_per_image num_classes skip_crowd_during_training "
        "testdev_dir training_file_pattern use_fake_data validation_file_pattern "
        "validation_json_file"),
    "efficientdet.EvalConfig": (
        "eval_after_training eval_batch_size eval_epoch_cycle eval_samples eval_timeout "
        "max_detections_per_image min_eval_interval min_score_thresh"),
    "efficientdet.Experiment": (
        "augmentation_config=efficientdet.AugConfig "
        "dataset_config=efficientdet.DatasetConfig eval_config=efficientdet.EvalConfig "
        "model_config=efficientdet.ModelConfig "
        "training_config=efficientdet.TrainingConfig"),
    "efficientdet.ModelConfig": (
        "anchor_scale aspect_ratios freeze_blocks freeze_bn max_level min_level "
        "model_name num_scales"),
    "efficientdet.TrainingConfig": (
        "amp checkpoint checkpoint_period clip_gradients_norm disable_logging "
        "iterations_per_loop keep_checkpoint_max l1_weight_decay l2_weight_decay "
        "learning_rate logging_frequency lr_warmup_epoch lr_warmup_init momentum "
        "moving_average_decay num_epochs num_examples_per_epoch profile_skip_steps "
        "pruned_model_path resume skip_checkpoint_variables stop_at_epoch "
        "tf_random_seed train_batch_size use_xla"),
    "faster_rcnn.Activation": "activation_parameters={} activation_type",
    "faster_rcnn.AdamOptimizerConfig": "amsgrad beta_1 beta_2 decay epsilon lr",
    "faster_rcnn.AnchorBoxConfig": "ratio scale",
    "faster_rcnn.EarlyStopping": "min_delta monitor patience",
    "faster_rcnn.EvaluationConfig": (
        "batch_size classifier_nms_max_boxes classifier_nms_overlap_threshold "
        "gt_matching_iou_threshold "
        "gt_matching_iou_threshold_range=faster_rcnn.IoUThresholdRange model "
        "object_confidence_thres rpn_nms_max_boxes rpn_nms_overlap_threshold "
        "rpn_pre_nms_top_N trt_evaluation=faster_rcnn.TrtInference "
        "use_voc07_11point_metric validation_period_during_training "
        "visualize_pr_curve"),
    "faster_rcnn.Experiment": (
        "augmentation_config=detectnet_v2.AugmentationConfig "
        "dataset_config=detectnet_v2.DatasetConfig enc_key "
        "evaluation_config=faster_rcnn.EvaluationConfig "
        "inference_config=faster_rcnn.InferenceConfig "
        "model_config=faster_rcnn.ModelConfig random_seed "
        "training_config=faster_rcnn.TrainingConfig verbose"),
    "faster_rcnn.ImageSizeConfigHeightWidth": "height width",
    "faster_rcnn.ImageSizeConfigMin": "min",
    "faster_rcnn.InferenceConfig": (
        "batch_size bbox_caption_on bbox_visualize_threshold "
        "classifier_nms_max_boxes classifier_nms_overlap_threshold "
        "detection_image_output_dir images_dir labels_dump_dir model nms_score_bits "
        "object_confidence_thres rpn_nms_max_boxes rpn_nms_overlap_threshold "
        "rpn_pre_nms_top_N trt_inference=faster_rcnn.TrtInference"),
    "faster_rcnn.InputImageConfig": (
        "image_channel_mean={} image_channel_order image_scaling_factor image_type "
        "max_objects_num_per_image "
        "size_height_width=faster_rcnn.ImageSizeConfigHeightWidth "
        "size_min=faster_rcnn.ImageSizeConfigMin"),
    "faster_rcnn.IoUThresholdRange": "end start step",
    "faster_rcnn.LRConfig": "soft_start=faster_rcnn.SoftStartAnnealingConfig step=faster_rcnn.StepLrConfig",
    "faster_rcnn.ModelConfig": (
        "activation=faster_rcnn.Activation all_projections "
        "anchor_box_config=faster_rcnn.AnchorBoxConfig arch drop_connect_rate "
        "dropout_rate freeze_blocks freeze_bn "
        "input_image_config=faster_rcnn.InputImageConfig rfcn_mode roi_mini_batch "
        "roi_pooling_config=faster_rcnn.RoiPoolingConfig rpn_cls_activation_type "
        "rpn_stride tf_proposal_layer use_bias use_pooling"),
    "faster_rcnn.OptimizerConfig": (
        "adam=faster_rcnn.AdamOptimizerConfig "
        "rmsprop=faster_rcnn.RmspropOptimizerConfig "
        "sgd=faster_rcnn.SgdOptimizerConfig"),
    "faster_rcnn.RmspropOptimizerConfig": "lr",
    "faster_rcnn.RoiPoolingConfig": "pool_size pool_size_2x",
    "faster_rcnn.SgdOptimizerConfig": "decay lr momentum nesterov",
    "faster_rcnn.SoftStartAnnealingConfig": "annealing_divider annealing_points base_lr soft_start start_lr",
    "faster_rcnn.StepLrConfig": "base_lr gamma step_size",
    "faster_rcnn.TrainingConfig": (
        "batch_size_per_gpu checkpoint_interval classifier_max_overlap "
        "classifier_min_overlap classifier_regr_std={} "
        "early_stopping=faster_rcnn.EarlyStopping enable_augmentation enable_qat "
        "gt_as_roi lambda_cls_class lambda_cls_regr lambda_rpn_class lambda_rpn_regr "
        "learning_rate=faster_rcnn.LRConfig model_parallelism num_epochs "
        "optimizer=faster_rcnn.OptimizerConfig pretrained_weights "
        "regularizer=detectnet_v2.RegularizerConfig resume_from_model "
        "retrain_pruned_model rpn_max_overlap rpn_min_overlap rpn_mini_batch "
        "rpn_nms_max_boxes rpn_nms_overlap_threshold rpn_pre_nms_top_N std_scaling "
        "visualizer=common.VisualizerConfig"),
    "faster_rcnn.TrtInference": "trt_engine",
    "lprnet.AugmentationConfig": (
        "blur_prob gaussian_kernel_size keep_original_prob max_rotate_degree "
        "output_channel output_height output_width reverse_color_prob rotate_prob"),
    "lprnet.DataSource": "image_directory_path label_directory_path",
    "lprnet.EvalConfig": "batch_size validation_period_during_training",
    "lprnet.Experiment": (
        "augmentation_config=lprnet.AugmentationConfig dataset_config=lprnet.LPDatasetConfig "
        "eval_config=lprnet.EvalConfig lpr_config=lprnet.LPRNetConfig random_seed "
        "training_config=common.TrainingConfig"),
    "lprnet.LPDatasetConfig": (
        "characters_list_file data_sources=lprnet.DataSource "
        "validation_data_sources=lprnet.DataSource"),
    "lprnet.LPRNetConfig": "arch freeze_blocks freeze_bn hidden_units max_label_length nlayers sequence_length",
    "makenet.Activation": "activation_parameters={} activation_type",
    "makenet.AdamOptimizerConfig": "beta_1 beta_2 decay epsilon lr",
    "makenet.BatchNormConfig": "epsilon momentum",
    "makenet.CosineLrConfig": "learning_rate min_lr_ratio soft_start",
    "makenet.EvalConfig": "batch_size enable_center_crop eval_dataset_path model_path n_workers top_k",
    "makenet.Experiment": (
        "eval_config=makenet.EvalConfig model_config=makenet.ModelConfig "
        "train_config=makenet.TrainConfig"),
    "makenet.LRConfig": (
        "cosine=makenet.CosineLrConfig soft_anneal=makenet.SoftAnnealLrConfig "
        "step=makenet.StepLrConfig"),
    "makenet.ModelConfig": (
        "activation=makenet.Activation all_projections arch "
        "batch_norm_config=makenet.BatchNormConfig byom_model dropout freeze_blocks "
        "freeze_bn input_image_size n_layers resize_interpolation_method retain_head "
        "use_batch_norm use_bias use_pooling"),
    "makenet.OptimizerConfig": (
        "adam=makenet.AdamOptimizerConfig rmsprop=makenet.RmspropOptimizerConfig "
        "sgd=makenet.SgdOptimizerConfig"),
    "makenet.RegConfig": "scope type weight_decay",
    "makenet.RmspropOptimizerConfig": "decay epsilon lr rho",
    "makenet.SgdOptimizerConfig": "decay lr momentum nesterov",
    "makenet.SoftAnnealLrConfig": "annealing_divider annealing_points learning_rate soft_start",
    "makenet.StepLrConfig": "gamma learning_rate step_size",
    "makenet.TrainConfig": (
        "batch_size_per_gpu disable_horizontal_flip enable_center_crop "
        "enable_color_augmentation enable_random_crop image_mean={} label_smoothing "
        "lr_config=makenet.LRConfig mixup_alpha model_parallelism n_epochs n_workers "
        "optimizer=makenet.OptimizerConfig preprocess_mode pretrained_model_path "
        "random_seed reg_config=makenet.RegConfig train_dataset_path val_dataset_path "
        "visualizer=common.VisualizerConfig"),
    "mask_rcnn.DataConfig": (
        "augment_input_data eval_samples image_size max_num_instances n_workers "
        "num_classes prefetch_buffer_size shuffle_buffer_size skip_crowd_during_training "
        "training_file_pattern val_json_file validation_file_pattern"),
    "mask_rcnn.Experiment": (
        "checkpoint clearml_config=common.ClearMLConfig data_config=mask_rcnn.DataConfig "
        "eval_batch_size global_gradient_clip_ratio init_learning_rate l1_weight_decay "
        "l2_weight_decay learning_rate_decay_levels learning_rate_steps logging_frequency "
        "maskrcnn_config=mask_rcnn.MaskRCNNConfig momentum num_epochs "
        "num_examples_per_epoch num_steps_per_eval pruned_model_path report_frequency "
        "save_checkpoints_steps seed skip_checkpoint_variables total_steps "
        "train_batch_size use_amp visualize_images_summary wandb_config=common.WandBConfig "
        "warmup_learning_rate warmup_steps"),
    "mask_rcnn.MaskRCNNConfig": (
        "anchor_scale arch aspect_ratios batch_size_per_im bbox_reg_weights "
        "bg_thresh_hi bg_thresh_lo fast_rcnn_box_loss_weight fast_rcnn_mlp_head_dim "
        "fg_fraction fg_thresh freeze_blocks freeze_bn gt_mask_size include_mask "
        "max_level min_level mrcnn_resolution mrcnn_weight_loss_mask nlayers "
        "num_scales rpn_batch_size_per_im rpn_box_loss_weight rpn_fg_fraction "
        "rpn_min_size rpn_negative_overlap rpn_positive_overlap "
        "test_detections_per_image test_nms test_rpn_nms_thresh test_rpn_post_nms_topn "
        "test_rpn_pre_nms_topn train_rpn_nms_threshold train_rpn_post_nms_topn "
        "train_rpn_pre_nms_topn"),
    "multitask_classification.DataSource": "image_directory_path train_csv_path val_csv_path",
    "multitask_classification.Experiment": (
        "dataset_config=multitask_classification.DataSource "
        "model_config=makenet.ModelConfig random_seed "
        "training_config=common.TrainingConfig"),
    "retinanet.EvalConfig": (
        "average_precision_mode batch_size matching_iou_threshold "
        "validation_period_during_training"),
    "retinanet.Experiment": (
        "augmentation_config=ssd.AugmentationConfig "
        "class_weighting_config=common.ClassWeightingConfig "
        "dataset_config=common.DatasetConfig eval_config=retinanet.EvalConfig "
        "nms_config=common.NMSConfig random_seed "
        "retinanet_config=retinanet.RetinaNetConfig training_config=common.TrainingConfig"),
    "retinanet.RetinaNetConfig": (
        "arch aspect_ratios aspect_ratios_global clip_boxes feature_size "
        "focal_loss_alpha focal_loss_gamma freeze_blocks freeze_bn loss_loc_weight "
        "max_scale mean_color min_scale n_anchor_levels n_kernels neg_iou_thresh "
        "nlayers offsets pos_iou_thresh scales steps two_boxes_for_ar1 variances"),
    "ssd.AugmentationConfig": (
        "brightness contrast hue image_mean={} output_channel output_height output_width "
        "random_crop_max_ar random_crop_max_scale random_crop_min_ar "
        "random_crop_min_scale random_flip saturation zoom_out_max_scale "
        "zoom_out_min_scale"),
    "ssd.EvalConfig": (
        "average_precision_mode batch_size matching_iou_threshold "
        "validation_period_during_training visualize_pr_curve"),
    "ssd.Experiment": (
        "augmentation_config=ssd.AugmentationConfig dataset_config=common.DatasetConfig "
        "dssd_config=ssd.SSDConfig eval_config=ssd.EvalConfig nms_config=common.NMSConfig "
        "random_seed ssd_config=ssd.SSDConfig training_config=common.TrainingConfig"),
    "ssd.SSDConfig": (
        "alpha arch aspect_ratios aspect_ratios_global clip_boxes freeze_blocks freeze_bn "
        "max_scale mean_color min_scale neg_iou_thresh neg_pos_ratio nlayers offsets "
        "pos_iou_thresh pred_num_channels scales steps two_boxes_for_ar1 variances"),
    "unet.AdamOptimizerConfig": "beta1 beta2 epsilon",
    "unet.AugmentationConfig": (
        "brightness_augmentation=unet.AugmentationConfig.BrightnessAugmentation "
        "spatial_augmentation=unet.AugmentationConfig.SpatialAugmentation"),
    "unet.AugmentationConfig.BrightnessAugmentation": "delta",
    "unet.AugmentationConfig.SpatialAugmentation": (
        "crop_and_resize_prob crop_and_resize_ratio "
        "hflip_probability vflip_probability"),
    "unet.DataClassConfig": "target_classes=unet.DataClassConfig.TargetClass",
    "unet.DataClassConfig.TargetClass": "class_weight label_id mapping_class name",
    "unet.DataSource": "image_path masks_path",
    "unet.DatasetConfig": (
        "augment augmentation_config=unet.AugmentationConfig "
        "data_class_config=unet.DataClassConfig dataloader dataset filter_data "
        "input_image_type preprocess resize_method resize_padding "
        "test_data_sources=unet.TestDataSource test_images_path test_masks_path "
        "train_data_sources=unet.TrainDataSource train_images_path train_masks_path "
        "val_data_sources=unet.ValDataSource val_images_path val_masks_path"),
    "unet.EvaluationConfig": (
        "average_precision_mode "
        "evaluation_box_config={unet.EvaluationConfig.EvaluationBoxConfig} "
        "first_validation_epoch minimum_detection_ground_truth_overlap={} "
        "validation_period_during_training"),
    "unet.EvaluationConfig.EvaluationBoxConfig": "maximum_height maximum_width minimum_height minimum_width",
    "unet.Experiment": (
        "data_class_config=unet.DataClassConfig dataset_config=unet.DatasetConfig "
        "evaluation_config=unet.EvaluationConfig model_config=unet.ModelConfig random_seed "
        "training_config=unet.TrainingConfig"),
    "unet.ModelConfig": (
        "activation all_projections allow_loaded_model_modification arch byom_model "
        "dropout_rate enable_qat freeze_blocks freeze_bn freeze_pretrained_layers initializer "
        "load_graph model_input_channels model_input_height model_input_width num_layers "
        "pretrained_model_file pruned_model_path remove_head "
        "training_precision=unet.ModelConfig.TrainingPrecision use_batch_norm use_pooling"),
    "unet.ModelConfig.TrainingPrecision": "backend_floatx",
    "unet.OptimizerConfig": "adam=unet.AdamOptimizerConfig",
    "unet.RegularizerConfig": "type weight",
    "unet.TestDataSource": "data_source=unet.DataSource",
    "unet.TrainDataSource": "data_source=unet.DataSource",
    "unet.TrainingConfig": (
        "augment batch_size buffer_size checkpoint_interval crossvalidation_idx "
        "data_options epochs learning_rate log_summary_steps loss "
        "lr_scheduler=unet.TrainingConfig.LRSchedulerConfig max_steps num_epochs "
        "optimizer=unet.OptimizerConfig regularizer=unet.RegularizerConfig use_amp use_trt "
        "use_xla visualizer=unet.VisualizerConfig warmup_steps weight_decay weights_monitor"),
    "unet.TrainingConfig.CosineDecayConfig": "alpha decay_steps",
    "unet.TrainingConfig.ExponentialDecayConfig": "decay_rate decay_steps",
    "unet.TrainingConfig.LRSchedulerConfig": (
        "cosine_decay=unet.TrainingConfig.CosineDecayConfig "
        "exponential_decay=unet.TrainingConfig.ExponentialDecayConfig"),
    "unet.ValDataSource": "data_source=unet.DataSource",
    "unet.VisualizerConfig": (
        "clearml_config=common.ClearMLConfig enabled infrequent_save_summary_steps "
        "save_summary_steps wandb_config=common.WandBConfig"),
    "yolo_v3.AugmentationConfig": (
        "exposure horizontal_flip hue image_mean={} jitter output_channel "
        "output_depth output_height output_width randomize_input_shape_period "
        "saturation vertical_flip"),
    "yolo_v3.Experiment": (
        "augmentation_config=yolo_v3.AugmentationConfig "
        "dataset_config=yolo_v3.YOLOv3DatasetConfig eval_config=common.EvalConfig "
        "nms_config=common.NMSConfig random_seed training_config=yolo_v3.TrainingConfig "
        "yolov3_config=yolo_v3.YOLOv3Config"),
    "yolo_v3.TrainingConfig": (
        "batch_size_per_gpu checkpoint_interval cost_scaling=common.CostScalingConfig "
        "enable_qat learning_rate=common.LearningRateConfig max_queue_size n_workers "
        "num_epochs optimizer=common.OptimizerConfig pretrain_model_path "
        "pruned_model_path regularizer=common.RegularizerConfig resume_model_path "
        "use_multiprocessing visualizer=common.VisualizerConfig"),
    "yolo_v3.YOLOv3Config": (
        "arch arch_conv_blocks big_anchor_shape force_relu freeze_blocks freeze_bn "
        "loss_class_weights loss_loc_weight loss_neg_obj_weights matching_neutral_box_iou "
        "mid_anchor_shape nlayers small_anchor_shape"),
    "yolo_v3.YOLOv3DataSource": (
        "image_directory_path label_directory_path root_path source_weight "
        "tfrecords_path"),
    "yolo_v3.YOLOv3DatasetConfig": (
        "data_sources=yolo_v3.YOLOv3DataSource image_extension "
        "include_difficult_in_training is_monochrome target_class_mapping={} type "
        "validation_data_sources=yolo_v3.YOLOv3DataSource validation_fold"),
    "yolo_v4.AugmentationConfig": (
        "exposure horizontal_flip hue image_mean={} jitter mosaic_min_ratio "
        "mosaic_prob output_channel output_depth output_height output_width "
        "randomize_input_shape_period saturation vertical_flip"),
    "yolo_v4.Experiment": (
        "augmentation_config=yolo_v4.AugmentationConfig "
        "class_weighting_config=common.ClassWeightingConfig "
        "dataset_config=yolo_v3.YOLOv3DatasetConfig eval_config=common.EvalConfig "
        "nms_config=common.NMSConfig random_seed training_config=common.TrainingConfig "
        "yolov4_config=yolo_v4.YOLOv4Config"),
    "yolo_v4.YOLOv4Config": (
        "activation arch arch_conv_blocks big_anchor_shape big_grid_xy_extend "
        "box_matching_iou focal_loss_alpha focal_loss_gamma force_relu freeze_blocks "
        "freeze_bn label_smoothing loss_class_weights loss_loc_weight loss_neg_obj_weights "
        "matching_neutral_box_iou mid_anchor_shape mid_grid_xy_extend nlayers "
        "small_anchor_shape small_grid_xy_extend"),
}


@lru_cache(maxsize=None)
def _fields(message: str) -> dict[str, str | None]:
    """Field name -> its message (None for a scalar); a map field's entry is the message
    ``{key, value}``, spelt ``{VALUE_MESSAGE}``."""
    fields: dict[str, str | None] = {}
    for word in _MESSAGES[message].split():
        name, _, child = word.partition("=")
        fields[name] = child or None
    return fields


def _child_fields(child: str) -> dict[str, str | None]:
    if child.startswith("{"):
        return {"key": None, "value": child.strip("{}") or None}
    return _fields(child)


@dataclass(frozen=True)
class FieldVerdict:
    """Whether a dotted path names a field the spec can hold: ``known`` True (in the file, or in
    TAO's definition of it), False (in neither: a typo; ``suggestion`` the closest known path, or
    None) or None (taostream cannot know this spec's fields; ``why`` says why)."""
    known: bool | None
    kinds: tuple[str, ...] = ()
    suggestion: str | None = None
    why: str = ""


def _walk(root: str, names: list[str], spec: SpecMessage, parts: list[str]) -> tuple[str, int, set[str]]:
    """('known'|'unknown'|'unsure', the depth the walk stopped at, the field names known there)."""
    fields = _fields(root)
    for depth, name in enumerate(names):
        prefix = ".".join(parts[:depth + 1])
        if name not in fields:
            if spec.has(prefix):  # the file has a field TAO's definition lacks: below it, unknowable
                return "unsure", depth, set()
            return "unknown", depth, set(fields)
        child = fields[name]
        if depth == len(names) - 1:
            return "known", depth, set()
        if child is None:  # a scalar holds no fields
            return "unknown", depth + 1, set()
        fields = _child_fields(child)
    return "known", len(names), set()


def _close_in_file(spec: SpecMessage, parts: list[str]) -> str | None:
    """The path with its last segment replaced by a close field of the file's at that place."""
    parent = spec.get(".".join(parts[:-1])) if len(parts) > 1 else spec
    leaf = parts[-1].split("[", 1)[0]
    siblings = sorted(parent.keys()) if isinstance(parent, SpecMessage) else []
    close = difflib.get_close_matches(leaf, siblings, n=1, cutoff=0.75)
    return ".".join([*parts[:-1], close[0]]) if close else None


def judge_field(spec: SpecMessage, dotted_path: str) -> FieldVerdict:
    """Is ``dotted_path`` (selectors allowed) a field ``spec`` may hold? See FieldVerdict."""
    if spec.has(dotted_path):
        return FieldVerdict(True)
    parts = split_path(dotted_path)
    names = [part.split("[", 1)[0] for part in parts]
    top = set(spec.keys())
    kinds = tuple(kind for kind, root in ROOTS.items() if top <= set(_fields(root)))
    if not kinds:
        why = (f"its top-level fields ({', '.join(sorted(top))}) are not those of any TAO TF1 spec taostream "
               "knows, so it cannot tell a new field from a misspelt one")
        return FieldVerdict(None, suggestion=_close_in_file(spec, parts), why=why)
    walks = [(kind, *_walk(ROOTS[kind], names, spec, parts)) for kind in kinds]
    if any(state == "known" for _, state, _, _ in walks):
        return FieldVerdict(True, kinds)
    unsure = [(kind, depth) for kind, state, depth, _ in walks if state == "unsure"]
    if unsure:
        parent = ".".join(parts[:unsure[0][1] + 1])
        why = f"'{parent}' is in the spec but not in TAO's {unsure[0][0]} spec, so taostream does not know its fields"
        return FieldVerdict(None, kinds, _close_in_file(spec, parts), why=why)
    depth = max(depth for _, _, depth, _ in walks)
    known = set().union(*(fields for _, _, d, fields in walks if d == depth))
    parent_path = ".".join(parts[:depth])
    parent = spec.get(parent_path) if parent_path else spec
    if isinstance(parent, SpecMessage):
        known |= set(parent.keys())
    suggestion = None
    for close in difflib.get_close_matches(names[depth], sorted(known), n=5, cutoff=0.6) if depth < len(names) else ():
        fixed = [*parts[:depth], close + parts[depth][len(names[depth]):], *parts[depth + 1:]]
        fixed_names = [part.split("[", 1)[0] for part in fixed]
        if spec.has(".".join(fixed)) or any(_walk(ROOTS[kind], fixed_names, spec, fixed)[0] == "known"
                                            for kind in kinds):
            suggestion = ".".join(fixed)
            break
    return FieldVerdict(False, kinds, suggestion)
