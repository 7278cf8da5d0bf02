// Pure decode functions: raw output tensors + their dims + parameters -> boxes.
//
// Nothing here knows the DeepStream ABI; nvdsinfer_parsers.cpp adapts NvDsInferLayerInfo to
// TensorView and Detection back to NvDsInferObjectDetectionInfo. Every element read goes through
// TensorView::at(), which never reads past `count`. The maths is defined by parsers/reference.py
// (the numpy reference); the two must stay identical.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace taostream {

enum class ElementType : int { kFloat32 = 0, kFloat16 = 1, kInt8 = 2, kInt32 = 3, kInt64 = 4, kUint8 = 5 };

// One output tensor of one image. `count` is the number of elements the buffer holds.
struct TensorView {
  const void *data = nullptr;
  ElementType type = ElementType::kFloat32;
  std::vector<size_t> dims;
  size_t count = 0;
  std::string name;

  // Element i converted to float; NaN when i is out of range or the type is unknown.
  float at(size_t i) const;
  // Element 0 as a detection count: int32 bits in an FP32 tensor are honoured (TensorRT's NMS
  // plugins write the keep count that way), the result is clamped to [0, upper].
  long count_value(long upper) const;
  bool empty() const { return data == nullptr || count == 0; }
};

struct Detection {
  int class_id = 0;
  float left = 0, top = 0, right = 0, bottom = 0;  // network pixels
  float confidence = 0;
};

struct MaskedDetection {
  Detection box;
  std::vector<float> mask;  // mask_height x mask_width, row-major
  unsigned mask_width = 0, mask_height = 0;
};

struct DetectionParams {
  unsigned num_classes = 0;
  std::vector<float> pre_cluster_threshold;  // per class
  // A class id is accepted when it indexes both num_classes and the threshold vector.
  bool accepts(long class_id, float confidence) const;
};

// DetectNet_v2 grid decode and clustering (TAO's inference defaults).
enum class ClusterMode : int { kNone = 0, kDbscan = 1, kNms = 2, kDbscanNms = 3 };

struct DetectNetV2Config {
  ClusterMode mode = ClusterMode::kDbscan;
  float bbox_norm = 35.0f;
  float offset = 0.5f;
  double dbscan_eps = 0.3;
  double dbscan_min_samples = 0.05;   // TAO passes max(int(min_samples), 1) to scikit-learn
  double dbscan_confidence_threshold = 0.1;
  double minimum_bounding_box_height = 4.0;
  double nms_iou_threshold = 0.5;
  long top_k = 0;  // per class after clustering; 0 keeps all
  long max_candidates = 20000;  // per class; bounds the O(n^2) clustering on garbage input
  // TAO's clustering_config is per class: when set, these hold one value per class id (the last
  // value repeats for higher ids) and override the four scalars above for that class.
  std::vector<double> class_eps, class_min_samples, class_confidence, class_min_height;
  // The settings class ``class_id`` clusters with.
  DetectNetV2Config for_class(size_t class_id) const;
};

// Parses "mode=dbscan eps=0.3 ..." (the TAOSTREAM_DETECTNET_V2 environment variable); eps,
// min_samples, confidence and min_height also take one value per class: "eps=0.2,0.15".
bool parse_detectnet_v2_config(const char *text, DetectNetV2Config *config, std::string *error);

struct FrcnnConfig {
  double nms_iou_threshold = 0.3;
  long keep_top_k = 100;
};

// Each decoder returns false and fills `error` when the tensors are malformed (wrong sizes or
// dims); bad VALUES (NaN, inf, ids out of range, wild counts) only drop the affected boxes.
bool decode_nms7(const TensorView &detections, const TensorView *keep_count, unsigned net_w,
                 unsigned net_h, const DetectionParams &params, std::vector<Detection> *out,
                 std::string *error);

bool decode_batched_nms(const TensorView &num_detections, const TensorView &boxes,
                        const TensorView &scores, const TensorView &classes, unsigned net_w,
                        unsigned net_h, const DetectionParams &params, std::vector<Detection> *out,
                        std::string *error);

bool decode_efficient_nms(const TensorView &num_detections, const TensorView &boxes,
                          const TensorView &scores, const TensorView &classes, unsigned net_w,
                          unsigned net_h, const DetectionParams &params,
                          std::vector<Detection> *out, std::string *error);

bool decode_frcnn_tlt2(const TensorView &proposals, const TensorView &class_probs,
                       const TensorView &deltas, unsigned net_w, unsigned net_h,
                       const DetectionParams &params, const FrcnnConfig &config,
                       std::vector<Detection> *out, std::string *error);

bool decode_mask_rcnn(const TensorView &detections, const TensorView &masks, unsigned net_w,
                      unsigned net_h, const DetectionParams &params,
                      std::vector<MaskedDetection> *out, std::string *error);

bool decode_detectnet_v2(const TensorView &coverage, const TensorView &bbox, unsigned net_w,
                         unsigned net_h, const DetectionParams &params,
                         const DetectNetV2Config &config, std::vector<Detection> *out,
                         std::string *error);

struct ClassifierResult {
  bool found = false;
  unsigned class_id = 0;
  float confidence = 0;
};
bool classify_softmax(const TensorView &probabilities, float threshold, ClassifierResult *out,
                      std::string *error);

// LPRNet: TAO's CTC greedy decode of tf_op_layer_ArgMax [T] / tf_op_layer_Max [T]. A run of the same
// id keeps its first step; the blank id (= the number of characters) is dropped. An id outside
// 0..blank, or id/confidence tensors of different lengths, are malformed outputs.
struct PlateResult {
  std::vector<long> character_ids;
  std::vector<float> confidences;  // tf_op_layer_Max at each kept step
};
bool decode_ctc_greedy(const TensorView &ids, const TensorView &confidences, long blank, PlateResult *out,
                       std::string *error);

// Clustering building blocks (also used by the benchmark through the harness).
struct Candidate {
  float x1, y1, x2, y2, score;
};
// TAO DetectNet_v2 DBSCAN: distance 1 - IoU (IoU denominator + 0.01), sample weight = score,
// core when the summed weight of the eps-neighbourhood (itself included) >= min_samples.
// Returns one label per candidate, -1 for noise, clusters numbered in scikit-learn's order; the
// vector belongs to this thread's workspace and is valid until its next call.
const std::vector<int> &dbscan_labels(const std::vector<Candidate> &candidates, double eps,
                                      double min_samples);
// Greedy NMS by descending score (stable); returns kept indices in that order.
std::vector<size_t> nms_keep(const std::vector<Candidate> &candidates, double iou_threshold,
                             long top_k);

}  // namespace taostream
