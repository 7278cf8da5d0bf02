// Pure decoders; see decoders.hpp. Semantics are pinned by parsers/reference.py.
#include "decoders.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>

namespace taostream {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
// exp() argument limit for FasterRCNN width/height deltas: log(1000/16), as in Detectron; keeps a
// garbage delta from producing an infinite box.
constexpr float kMaxLogScale = 4.135166556742356f;

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal half: renormalise
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

bool finite(float v) { return std::isfinite(v); }

float clampf(float v, float lo, float hi) { return std::min(std::max(v, lo), hi); }

// Truncates a float class id; false for NaN/inf or values no real model emits.
bool class_id_of(float value, long *class_id) {
  if (!finite(value) || value < -1e9f || value > 1e9f) return false;
  *class_id = static_cast<long>(value);
  return true;
}

// Clips a finite box to the network and rejects empty ones.
bool clip_box(float x1, float y1, float x2, float y2, unsigned net_w, unsigned net_h,
              Detection *box) {
  if (!finite(x1) || !finite(y1) || !finite(x2) || !finite(y2)) return false;
  const float w = static_cast<float>(net_w), h = static_cast<float>(net_h);
  box->left = clampf(x1, 0.0f, w);
  box->top = clampf(y1, 0.0f, h);
  box->right = clampf(x2, 0.0f, w);
  box->bottom = clampf(y2, 0.0f, h);
  return box->right > box->left && box->bottom > box->top;
}

// Product of dims; false on overflow (garbage dims must not wrap around to a small number).
bool dims_product(const std::vector<size_t> &dims, size_t *product) {
  size_t p = 1;
  for (size_t d : dims)
    if (__builtin_mul_overflow(p, d, &p)) return false;
  *product = p;
  return true;
}

bool fail(std::string *error, const std::string &message) {
  if (error) *error = message;
  return false;
}

bool require_elements(const TensorView &t, const char *role, std::string *error) {
  if (t.empty()) {
    return fail(error, std::string("output layer '") + t.name + "' (" + role +
                           ") is empty (0 elements or no buffer)");
  }
  return true;
}

bool require_multiple(const TensorView &t, size_t stride, const char *role, std::string *error) {
  if (!require_elements(t, role, error)) return false;
  if (t.count % stride != 0) {
    std::ostringstream s;
    s << "output layer '" << t.name << "' (" << role << ") has " << t.count
      << " elements, not a multiple of " << stride;
    return fail(error, s.str());
  }
  return true;
}

double iou(const Candidate &a, const Candidate &b) {
  const double iw = std::max(0.0, std::min<double>(a.x2, b.x2) - std::max<double>(a.x1, b.x1));
  const double ih = std::max(0.0, std::min<double>(a.y2, b.y2) - std::max<double>(a.y1, b.y1));
  const double inter = iw * ih;
  const double area_a = (double(a.x2) - a.x1) * (double(a.y2) - a.y1);
  const double area_b = (double(b.x2) - b.x1) * (double(b.y2) - b.y1);
  const double uni = area_a + area_b - inter;
  return uni > 0.0 ? inter / uni : 0.0;
}

// TAO's regularised IoU distance (utilities.iou_vectorized: denominator + 0.01).
inline double tao_distance(const Candidate &a, const Candidate &b) {
  const double iw = std::max(0.0, std::min<double>(a.x2, b.x2) - std::max<double>(a.x1, b.x1));
  const double ih = std::max(0.0, std::min<double>(a.y2, b.y2) - std::max<double>(a.y1, b.y1));
  const double inter = iw * ih;
  const double area_a = (double(a.x2) - a.x1) * (double(a.y2) - a.y1);
  const double area_b = (double(b.x2) - b.x1) * (double(b.y2) - b.y1);
  const double denominator = area_a + area_b - inter + 0.01;
  return 1.0 - (denominator > 0.0 ? inter / denominator : 0.0);
}

std::vector<size_t> order_by_score(const std::vector<Candidate> &c) {
  std::vector<size_t> order(c.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return c[a].score > c[b].score; });
  return order;
}

// Enumerates the eps-neighbourhood of candidate i without testing every pair. For eps < 1 a
// neighbour needs IoU >= 1 - eps, hence intersection width >= (1 - eps) * its own width, hence
// |x1_i - x1_j| <= eps * max(w_i, w_j) (and the same for y1). Candidates are bucketed on a grid
// over (x1, y1) whose cells are at least that window, so only the 3x3 cells around i can hold
// neighbours. The windows carry a margin and the exact distance test decides, so the result
// equals the all-pairs definition. With eps >= 1 every candidate is a neighbour.
class NeighbourIndex {
 public:
  NeighbourIndex(const std::vector<Candidate> &c, double eps) : c_(c), eps_(eps) {
    if (c.empty() || eps >= 1.0) return;
    double lo_x = c[0].x1, hi_x = c[0].x1, lo_y = c[0].y1, hi_y = c[0].y1;
    for (const Candidate &k : c) {
      lo_x = std::min(lo_x, double(k.x1));
      hi_x = std::max(hi_x, double(k.x1));
      lo_y = std::min(lo_y, double(k.y1));
      hi_y = std::max(hi_y, double(k.y1));
    }
    // Cells of about the typical query window (the median box), so a query scans only the cells
    // its own window covers; at most kMaxCellsPerAxis per axis.
    std::vector<double> widths, heights;
    for (const Candidate &k : c) {
      widths.push_back(std::max(0.0, double(k.x2) - k.x1));
      heights.push_back(std::max(0.0, double(k.y2) - k.y1));
    }
    std::nth_element(widths.begin(), widths.begin() + widths.size() / 2, widths.end());
    std::nth_element(heights.begin(), heights.begin() + heights.size() / 2, heights.end());
    reach_ = (eps + 1e-6) / (1.0 - eps);
    constexpr double kMaxCellsPerAxis = 256.0;
    cell_w_ = std::max(reach_ * widths[widths.size() / 2] * 0.5 + 1e-3, (hi_x - lo_x) / kMaxCellsPerAxis + 1e-3);
    cell_h_ = std::max(reach_ * heights[heights.size() / 2] * 0.5 + 1e-3, (hi_y - lo_y) / kMaxCellsPerAxis + 1e-3);
    lo_x_ = lo_x;
    lo_y_ = lo_y;
    nx_ = static_cast<long>((hi_x - lo_x) / cell_w_) + 1;
    ny_ = static_cast<long>((hi_y - lo_y) / cell_h_) + 1;
    inverse_cell_w_ = 1.0 / cell_w_;
    inverse_cell_h_ = 1.0 / cell_h_;
    // Counting sort of the candidates into cells (CSR layout), keeping index order inside a cell.
    cell_of_.resize(c.size());
    start_.assign(static_cast<size_t>(nx_ * ny_) + 1, 0);
    for (size_t i = 0; i < c.size(); ++i) {
      cell_of_[i] = cell(cell_x(c[i].x1), cell_y(c[i].y1));
      ++start_[cell_of_[i] + 1];
    }
    for (size_t k = 1; k < start_.size(); ++k) start_[k] += start_[k - 1];
    members_.resize(c.size());
    std::vector<size_t> fill(start_.begin(), start_.end() - 1);
    for (size_t i = 0; i < c.size(); ++i) members_[fill[cell_of_[i]]++] = i;
    refresh_edges();
  }

  // Keeps, per cell, the candidates still to be settled (labelled) at the front of the cell's
  // slice of members_; for_each<true> walks only those, so expanding the many core points of a
  // dense cluster does not revisit the points already claimed.
  void track_unsettled(const std::vector<char> &pending) {
    if (start_.empty()) return;
    live_.assign(start_.size() - 1, 0);
    live_in_row_.assign(static_cast<size_t>(ny_), 0);
    slot_.assign(members_.size(), 0);
    for (size_t k = 0; k + 1 < start_.size(); ++k) {
      std::stable_partition(members_.begin() + static_cast<long>(start_[k]),
                            members_.begin() + static_cast<long>(start_[k + 1]),
                            [&](size_t j) { return pending[j] != 0; });
      for (size_t m = start_[k]; m < start_[k + 1]; ++m) {
        slot_[members_[m]] = m;
        live_[k] += pending[members_[m]] ? 1 : 0;
        live_in_row_[k / static_cast<size_t>(nx_)] += pending[members_[m]] ? 1 : 0;
      }
    }
    refresh_edges();
  }
  void settle(size_t j) {
    if (live_.empty()) return;
    const size_t k = cell_of_[j], last = start_[k] + live_[k] - 1, m = slot_[j];
    std::swap(members_[m], members_[last]);
    std::swap(edges_[m], edges_[last]);
    slot_[members_[m]] = m;
    slot_[members_[last]] = last;
    --live_[k];
    --live_in_row_[k / static_cast<size_t>(nx_)];
  }

  // Calls visit(j) for each neighbour j that passes skip(j) == false (checked before the
  // distance, so already-settled candidates cost nothing); stops when visit returns false.
  // i's own cell comes first: its members are the likeliest neighbours.
  template <bool kOnlyUnsettled = false, typename Skip, typename Visit>
  void for_each(size_t i, Skip skip, Visit visit) const {
    const Candidate &a = c_[i];
    if (eps_ >= 1.0) {
      for (size_t j = 0; j < c_.size(); ++j)
        if (!skip(j) && tao_distance(a, c_[j]) <= eps_ && !visit(j)) return;
      return;
    }
    const Query q = query(i);
    const long gx = cell_x(a.x1), gy = cell_y(a.y1);
    if (!visit_cell<kOnlyUnsettled>(q, cell(gx, gy), skip, visit)) return;
    const long x_lo = cell_x(double(a.x1) - q.wx), x_hi = cell_x(double(a.x1) + q.wx);
    const long y_lo = cell_y(double(a.y1) - q.wy), y_hi = cell_y(double(a.y1) + q.wy);
    for (long y = y_lo; y <= y_hi; ++y) {
      if (kOnlyUnsettled && live_in_row_[static_cast<size_t>(y)] == 0) continue;
      for (long x = x_lo; x <= x_hi; ++x) {
        const size_t k = cell(x, y);
        const size_t size = kOnlyUnsettled ? live_[k] : start_[k + 1] - start_[k];
        if (size == 0 || (x == gx && y == gy)) continue;
        if (!visit_cell<kOnlyUnsettled>(q, k, skip, visit)) return;
      }
    }
  }

 private:
  struct Edges {
    float x1, y1, x2, y2;
  };

  // Box edges in members_ order, so the window test reads memory sequentially.
  void refresh_edges() {
    edges_.resize(members_.size());
    for (size_t m = 0; m < members_.size(); ++m) {
      const Candidate &b = c_[members_[m]];
      edges_[m] = {b.x1, b.y1, b.x2, b.y2};
    }
  }

  // By the same argument as window_x(), every edge of a neighbour lies within the window of the
  // matching edge of the query box; the float bounds keep the window's 1e-3 margin.
  struct Query {
    size_t i;
    double wx, wy;
    float x1_lo, x1_hi, x2_lo, x2_hi, y1_lo, y1_hi, y2_lo, y2_hi;
  };

  Query query(size_t i) const {
    const Candidate &a = c_[i];
    const double wx = window_x(a), wy = window_y(a);
    const float fx = static_cast<float>(wx), fy = static_cast<float>(wy);
    return {i, wx, wy, a.x1 - fx, a.x1 + fx, a.x2 - fx, a.x2 + fx, a.y1 - fy, a.y1 + fy, a.y2 - fy, a.y2 + fy};
  }

  template <bool kOnlyUnsettled, typename Skip, typename Visit>
  bool visit_cell(const Query &q, size_t k, Skip &skip, Visit &visit) const {
    const Candidate &a = c_[q.i];
    size_t m = start_[k];
    while (m < (kOnlyUnsettled ? start_[k] + live_[k] : start_[k + 1])) {
      const Edges &e = edges_[m];
      const size_t j = members_[m];
      if ((j == q.i || (e.x1 >= q.x1_lo && e.x1 <= q.x1_hi && e.y1 >= q.y1_lo && e.y1 <= q.y1_hi &&
                        e.x2 >= q.x2_lo && e.x2 <= q.x2_hi && e.y2 >= q.y2_lo && e.y2 <= q.y2_hi)) &&
          !skip(j) && tao_distance(a, c_[j]) <= eps_) {
        if (!visit(j)) return false;
        if (kOnlyUnsettled && members_[m] != j) continue;  // j was settled: a new entry moved in
      }
      ++m;
    }
    return true;
  }

  // A neighbour j of i has w_j <= w_i / (1 - eps) (IoU >= 1 - eps bounds the width ratio), so
  // |x1_i - x1_j| <= eps * max(w_i, w_j) <= eps * w_i / (1 - eps): a window that depends on i only.
  double window_x(const Candidate &a) const { return reach_ * std::max(0.0, double(a.x2) - a.x1) + 1e-3; }
  double window_y(const Candidate &a) const { return reach_ * std::max(0.0, double(a.y2) - a.y1) + 1e-3; }
  static long bucket(double v, double lo, double inverse_size, long n) {
    const double t = (v - lo) * inverse_size;
    if (!(t > 0.0)) return 0;
    if (t >= static_cast<double>(n - 1)) return n - 1;
    return static_cast<long>(t);
  }
  long cell_x(double x1) const { return bucket(x1, lo_x_, inverse_cell_w_, nx_); }
  long cell_y(double y1) const { return bucket(y1, lo_y_, inverse_cell_h_, ny_); }
  size_t cell(long x, long y) const { return static_cast<size_t>(y * nx_ + x); }

  const std::vector<Candidate> &c_;
  double eps_;
  double lo_x_ = 0, lo_y_ = 0, cell_w_ = 1, cell_h_ = 1, inverse_cell_w_ = 1, inverse_cell_h_ = 1, reach_ = 0;
  long nx_ = 1, ny_ = 1;
  std::vector<size_t> cell_of_, start_, live_, live_in_row_, slot_;
  std::vector<size_t> members_;  // reordered by settle() (cell slices stay intact)
  std::vector<Edges> edges_;
};

}  // namespace

float TensorView::at(size_t i) const {
  if (data == nullptr || i >= count) return kNaN;
  switch (type) {
    case ElementType::kFloat32: {
      float v;
      std::memcpy(&v, static_cast<const char *>(data) + i * 4, 4);
      return v;
    }
    case ElementType::kFloat16: {
      uint16_t v;
      std::memcpy(&v, static_cast<const char *>(data) + i * 2, 2);
      return half_to_float(v);
    }
    case ElementType::kInt8:
      return static_cast<float>(static_cast<const int8_t *>(data)[i]);
    case ElementType::kUint8:
      return static_cast<float>(static_cast<const uint8_t *>(data)[i]);
    case ElementType::kInt32: {
      int32_t v;
      std::memcpy(&v, static_cast<const char *>(data) + i * 4, 4);
      return static_cast<float>(v);
    }
    case ElementType::kInt64: {
      int64_t v;
      std::memcpy(&v, static_cast<const char *>(data) + i * 8, 8);
      return static_cast<float>(v);
    }
  }
  return kNaN;
}

long TensorView::count_value(long upper) const {
  if (empty() || upper <= 0) return 0;
  double value;
  if (type == ElementType::kFloat32) {
    int32_t bits;
    std::memcpy(&bits, data, 4);
    if (bits >= 0 && bits <= upper) return bits;  // int32 written into an FP32 binding
    float f;
    std::memcpy(&f, data, 4);
    value = f;
  } else if (type == ElementType::kInt64) {
    int64_t v;
    std::memcpy(&v, data, 8);
    value = static_cast<double>(v);
  } else {
    value = at(0);
  }
  if (!(value >= 0.0)) return 0;  // negative or NaN
  if (value >= static_cast<double>(upper)) return upper;
  return static_cast<long>(value);
}

bool DetectionParams::accepts(long class_id, float confidence) const {
  if (class_id < 0 || class_id >= static_cast<long>(num_classes) ||
      class_id >= static_cast<long>(pre_cluster_threshold.size()))
    return false;
  return finite(confidence) && confidence >= pre_cluster_threshold[class_id];
}

bool decode_nms7(const TensorView &detections, const TensorView *keep_count, unsigned net_w,
                 unsigned net_h, const DetectionParams &params, std::vector<Detection> *out,
                 std::string *error) {
  if (!require_multiple(detections, 7, "NMS detections [K,7]", error)) return false;
  const long rows = static_cast<long>(detections.count / 7);
  const long keep =
      (keep_count != nullptr && !keep_count->empty()) ? keep_count->count_value(rows) : rows;
  const float w = static_cast<float>(net_w), h = static_cast<float>(net_h);
  for (long i = 0; i < keep; ++i) {
    const size_t base = static_cast<size_t>(i) * 7;
    long class_id;
    const float confidence = detections.at(base + 2);
    if (!class_id_of(detections.at(base + 1), &class_id) || !params.accepts(class_id, confidence))
      continue;
    Detection box;
    if (!clip_box(detections.at(base + 3) * w, detections.at(base + 4) * h,
                  detections.at(base + 5) * w, detections.at(base + 6) * h, net_w, net_h, &box))
      continue;
    box.class_id = static_cast<int>(class_id);
    box.confidence = confidence;
    out->push_back(box);
  }
  return true;
}

namespace {
// Shared by the BatchedNMS (normalized x1,y1,x2,y2) and EfficientNMS (pixel y1,x1,y2,x2) layouts.
bool decode_four_output_nms(const TensorView &num_detections, const TensorView &boxes,
                            const TensorView &scores, const TensorView &classes, bool yx_pixels,
                            unsigned net_w, unsigned net_h, const DetectionParams &params,
                            std::vector<Detection> *out, std::string *error) {
  if (!require_elements(num_detections, "number of detections", error) ||
      !require_multiple(boxes, 4, "boxes [K,4]", error) ||
      !require_elements(scores, "scores [K]", error) ||
      !require_elements(classes, "classes [K]", error))
    return false;
  if (boxes.count != 4 * scores.count || classes.count != scores.count) {
    std::ostringstream s;
    s << "inconsistent detection layers: boxes '" << boxes.name << "' has " << boxes.count
      << " elements, scores '" << scores.name << "' " << scores.count << ", classes '"
      << classes.name << "' " << classes.count << " (expected 4K, K, K)";
    return fail(error, s.str());
  }
  const long k = static_cast<long>(scores.count);
  const long n = num_detections.count_value(k);
  const float sx = yx_pixels ? 1.0f : static_cast<float>(net_w);
  const float sy = yx_pixels ? 1.0f : static_cast<float>(net_h);
  for (long i = 0; i < n; ++i) {
    long class_id;
    const float confidence = scores.at(i);
    if (!class_id_of(classes.at(i), &class_id) || !params.accepts(class_id, confidence)) continue;
    const size_t b = static_cast<size_t>(i) * 4;
    const float x1 = boxes.at(b + (yx_pixels ? 1 : 0)) * sx;
    const float y1 = boxes.at(b + (yx_pixels ? 0 : 1)) * sy;
    const float x2 = boxes.at(b + (yx_pixels ? 3 : 2)) * sx;
    const float y2 = boxes.at(b + (yx_pixels ? 2 : 3)) * sy;
    Detection box;
    if (!clip_box(x1, y1, x2, y2, net_w, net_h, &box)) continue;
    box.class_id = static_cast<int>(class_id);
    box.confidence = confidence;
    out->push_back(box);
  }
  return true;
}
}  // namespace

bool decode_batched_nms(const TensorView &num_detections, const TensorView &boxes,
                        const TensorView &scores, const TensorView &classes, unsigned net_w,
                        unsigned net_h, const DetectionParams &params, std::vector<Detection> *out,
                        std::string *error) {
  return decode_four_output_nms(num_detections, boxes, scores, classes, false, net_w, net_h,
                                params, out, error);
}

bool decode_efficient_nms(const TensorView &num_detections, const TensorView &boxes,
                          const TensorView &scores, const TensorView &classes, unsigned net_w,
                          unsigned net_h, const DetectionParams &params,
                          std::vector<Detection> *out, std::string *error) {
  return decode_four_output_nms(num_detections, boxes, scores, classes, true, net_w, net_h,
                                params, out, error);
}

std::vector<size_t> nms_keep(const std::vector<Candidate> &candidates, double iou_threshold,
                             long top_k) {
  const std::vector<size_t> order = order_by_score(candidates);
  std::vector<char> suppressed(candidates.size(), 0);
  std::vector<size_t> kept;
  for (size_t p = 0; p < order.size(); ++p) {
    const size_t i = order[p];
    if (suppressed[i]) continue;
    kept.push_back(i);
    if (top_k > 0 && static_cast<long>(kept.size()) >= top_k) break;
    for (size_t q = p + 1; q < order.size(); ++q) {
      const size_t j = order[q];
      if (!suppressed[j] && iou(candidates[i], candidates[j]) > iou_threshold) suppressed[j] = 1;
    }
  }
  return kept;
}

bool decode_frcnn_tlt2(const TensorView &proposals, const TensorView &class_probs,
                       const TensorView &deltas, unsigned net_w, unsigned net_h,
                       const DetectionParams &params, const FrcnnConfig &config,
                       std::vector<Detection> *out, std::string *error) {
  if (!require_multiple(proposals, 4, "proposals [R,4]", error)) return false;
  const size_t rois = proposals.count / 4;
  if (!require_multiple(class_probs, rois, "class probabilities [R,C]", error)) return false;
  const size_t classes = class_probs.count / rois;  // background is the last column
  if (classes < 2 || deltas.count != rois * (classes - 1) * 4) {
    std::ostringstream s;
    s << "FasterRCNN layers disagree: " << rois << " proposals, " << classes
      << " class columns (background last), deltas '" << deltas.name << "' has " << deltas.count
      << " elements (expected " << rois * (classes > 0 ? classes - 1 : 0) * 4 << ")";
    return fail(error, s.str());
  }
  const float w = static_cast<float>(net_w), h = static_cast<float>(net_h);
  std::vector<std::vector<Candidate>> per_class(classes - 1);
  for (size_t r = 0; r < rois; ++r) {
    const float ry1 = proposals.at(4 * r) * h, rx1 = proposals.at(4 * r + 1) * w;
    const float ry2 = proposals.at(4 * r + 2) * h, rx2 = proposals.at(4 * r + 3) * w;
    const float rw = rx2 - rx1, rh = ry2 - ry1;
    const float rcx = rx1 + 0.5f * rw, rcy = ry1 + 0.5f * rh;
    for (size_t c = 0; c + 1 < classes; ++c) {
      const float score = class_probs.at(r * classes + c);
      if (!params.accepts(static_cast<long>(c), score)) continue;
      const size_t d = (r * (classes - 1) + c) * 4;
      const float tx = deltas.at(d) / 10.0f, ty = deltas.at(d + 1) / 10.0f;
      const float tw = std::min(deltas.at(d + 2) / 5.0f, kMaxLogScale);
      const float th = std::min(deltas.at(d + 3) / 5.0f, kMaxLogScale);
      const float cx = tx * rw + rcx, cy = ty * rh + rcy;
      const float bw = std::exp(tw) * rw, bh = std::exp(th) * rh;
      Detection box;
      if (!clip_box(cx - 0.5f * bw, cy - 0.5f * bh, cx + 0.5f * bw, cy + 0.5f * bh, net_w, net_h,
                    &box))
        continue;
      per_class[c].push_back({box.left, box.top, box.right, box.bottom, score});
    }
  }
  std::vector<Detection> all;
  for (size_t c = 0; c < per_class.size(); ++c) {
    for (size_t i : nms_keep(per_class[c], config.nms_iou_threshold, 0)) {
      const Candidate &k = per_class[c][i];
      all.push_back({static_cast<int>(c), k.x1, k.y1, k.x2, k.y2, k.score});
    }
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Detection &a, const Detection &b) { return a.confidence > b.confidence; });
  if (config.keep_top_k > 0 && static_cast<long>(all.size()) > config.keep_top_k)
    all.resize(static_cast<size_t>(config.keep_top_k));
  out->insert(out->end(), all.begin(), all.end());
  return true;
}

bool decode_mask_rcnn(const TensorView &detections, const TensorView &masks, unsigned net_w,
                      unsigned net_h, const DetectionParams &params,
                      std::vector<MaskedDetection> *out, std::string *error) {
  if (!require_multiple(detections, 6, "detections [N,6]", error) ||
      !require_elements(masks, "masks [N,C,H,W]", error))
    return false;
  const size_t n = detections.count / 6;
  if (masks.dims.size() < 3) {
    return fail(error, "mask layer '" + masks.name + "' needs dims [N,C,H,W] (at least 3 dims)");
  }
  const size_t mask_h = masks.dims[masks.dims.size() - 2], mask_w = masks.dims.back();
  size_t plane = 0, per_class_block = 0;
  if (__builtin_mul_overflow(mask_h, mask_w, &plane) || plane == 0 ||
      __builtin_mul_overflow(n, plane, &per_class_block) || masks.count % per_class_block != 0) {
    std::ostringstream s;
    s << "mask layer '" << masks.name << "' has " << masks.count << " elements, not " << n
      << " detections x C x " << mask_h << " x " << mask_w;
    return fail(error, s.str());
  }
  const size_t mask_classes = masks.count / per_class_block;
  for (size_t i = 0; i < n; ++i) {
    const size_t b = i * 6;
    long class_id;
    const float confidence = detections.at(b + 5);
    if (!class_id_of(detections.at(b + 4), &class_id) || !params.accepts(class_id, confidence) ||
        class_id >= static_cast<long>(mask_classes))
      continue;
    MaskedDetection m;
    if (!clip_box(detections.at(b + 1), detections.at(b), detections.at(b + 3),
                  detections.at(b + 2), net_w, net_h, &m.box))
      continue;
    m.box.class_id = static_cast<int>(class_id);
    m.box.confidence = confidence;
    m.mask_width = static_cast<unsigned>(mask_w);
    m.mask_height = static_cast<unsigned>(mask_h);
    m.mask.resize(plane);
    const size_t first = (i * mask_classes + static_cast<size_t>(class_id)) * plane;
    for (size_t k = 0; k < plane; ++k) m.mask[k] = masks.at(first + k);
    out->push_back(std::move(m));
  }
  return true;
}

std::vector<int> dbscan_labels(const std::vector<Candidate> &candidates, double eps,
                               double min_samples) {
  const size_t n = candidates.size();
  NeighbourIndex index(candidates, eps);
  // Coverage weights are normally >= 0, so the neighbourhood sum only grows: stop counting once
  // it reaches min_samples. Negative weights (garbage input) need the full sum.
  bool monotone = true;
  for (const Candidate &c : candidates) monotone = monotone && c.score >= 0.0f;
  std::vector<char> core(n, 0);
  for (size_t i = 0; i < n; ++i) {
    // Itself first (its own distance is ~0 unless the box is degenerate), then the others.
    double weight = tao_distance(candidates[i], candidates[i]) <= eps ? candidates[i].score : 0.0;
    if (!(monotone && weight >= min_samples)) {
      index.for_each(i, [&](size_t j) { return j == i; }, [&](size_t j) {
        weight += candidates[j].score;
        return !(monotone && weight >= min_samples);
      });
    }
    core[i] = weight >= min_samples;
  }
  // Clusters = connected components of core points (edges: distance <= eps), numbered by their
  // lowest core index; a non-core point joins the lowest-numbered cluster with a core neighbour.
  // That is exactly what scikit-learn's stack walk produces, computed with far fewer distance
  // tests: the walk only looks at unlabelled core points, each expanded once.
  std::vector<int> labels(n, -1);
  std::vector<size_t> stack;
  int next_label = 0;
  index.track_unsettled(core);
  const auto settled_or_border = [&](size_t j) { return labels[j] != -1 || !core[j]; };
  const auto claim = [&](size_t j) {
    labels[j] = next_label;
    index.settle(j);
    stack.push_back(j);
    return true;
  };
  for (size_t start = 0; start < n; ++start) {
    if (labels[start] != -1 || !core[start]) continue;
    claim(start);
    while (!stack.empty()) {
      const size_t i = stack.back();
      stack.pop_back();
      index.for_each<true>(i, settled_or_border, claim);
    }
    ++next_label;
  }
  for (size_t i = 0; i < n; ++i) {
    if (core[i]) continue;
    int best = -1;
    index.for_each(
        i, [&](size_t j) { return !core[j] || (best != -1 && labels[j] >= best); },
        [&](size_t j) {
          best = labels[j];
          return best != 0;
        });
    labels[i] = best;
  }
  return labels;
}

namespace {

// TAO's create_detection: coverage-weighted mean box, confidence = summed coverage.
std::vector<Candidate> dbscan_clusters(const std::vector<Candidate> &c,
                                       const DetectNetV2Config &config) {
  const double min_samples = std::max(std::floor(config.dbscan_min_samples), 1.0);
  const std::vector<int> labels = dbscan_labels(c, config.dbscan_eps, min_samples);
  const int count = labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
  std::vector<double> weight(count, 0.0);
  for (size_t i = 0; i < c.size(); ++i)
    if (labels[i] >= 0) weight[labels[i]] += c[i].score;
  std::vector<double> sum(4 * static_cast<size_t>(count), 0.0);
  for (size_t i = 0; i < c.size(); ++i) {
    if (labels[i] < 0) continue;
    const double w = c[i].score / weight[labels[i]];
    double *s = &sum[4 * static_cast<size_t>(labels[i])];
    s[0] += c[i].x1 * w;
    s[1] += c[i].y1 * w;
    s[2] += c[i].x2 * w;
    s[3] += c[i].y2 * w;
  }
  std::vector<Candidate> clusters;
  for (int k = 0; k < count; ++k) {
    const double *s = &sum[4 * static_cast<size_t>(k)];
    const Candidate box{float(s[0]), float(s[1]), float(s[2]), float(s[3]), float(weight[k])};
    if (double(box.y2) - double(box.y1) <= config.minimum_bounding_box_height) continue;
    if (!(weight[k] > config.dbscan_confidence_threshold)) continue;
    clusters.push_back(box);
  }
  std::stable_sort(clusters.begin(), clusters.end(),
                   [](const Candidate &a, const Candidate &b) { return a.score > b.score; });
  return clusters;
}

std::vector<Candidate> select(const std::vector<Candidate> &c, const std::vector<size_t> &keep) {
  std::vector<Candidate> out;
  out.reserve(keep.size());
  for (size_t i : keep) out.push_back(c[i]);
  return out;
}

std::vector<Candidate> cluster_class(std::vector<Candidate> candidates,
                                     const DetectNetV2Config &config) {
  if (config.max_candidates > 0 && static_cast<long>(candidates.size()) > config.max_candidates) {
    std::vector<size_t> keep = order_by_score(candidates);
    keep.resize(static_cast<size_t>(config.max_candidates));
    std::sort(keep.begin(), keep.end());
    candidates = select(candidates, keep);
  }
  std::vector<Candidate> result;
  switch (config.mode) {
    case ClusterMode::kNone:
      result = candidates;
      break;
    case ClusterMode::kNms:
      result = select(candidates, nms_keep(candidates, config.nms_iou_threshold, 0));
      break;
    case ClusterMode::kDbscan:
      result = dbscan_clusters(candidates, config);
      break;
    case ClusterMode::kDbscanNms: {
      const std::vector<Candidate> clusters = dbscan_clusters(candidates, config);
      result = select(clusters, nms_keep(clusters, config.nms_iou_threshold, 0));
      break;
    }
  }
  if (config.top_k > 0 && static_cast<long>(result.size()) > config.top_k)
    result.resize(static_cast<size_t>(config.top_k));
  return result;
}

// Elements [first, first + n) as floats (a straight copy for FP32 buffers).
void read_plane(const TensorView &t, size_t first, size_t n, std::vector<float> *out) {
  out->resize(n);
  if (t.type == ElementType::kFloat32 && first + n <= t.count) {
    std::memcpy(out->data(), static_cast<const char *>(t.data) + first * 4, n * 4);
    return;
  }
  for (size_t i = 0; i < n; ++i) (*out)[i] = t.at(first + i);
}

// Drops leading 1-sized dims so [1,C,H,W] and [C,H,W] read the same.
std::vector<size_t> squeeze_leading(std::vector<size_t> dims) {
  while (dims.size() > 3 && dims.front() == 1) dims.erase(dims.begin());
  return dims;
}

}  // namespace

bool decode_detectnet_v2(const TensorView &coverage, const TensorView &bbox, unsigned net_w,
                         unsigned net_h, const DetectionParams &params,
                         const DetectNetV2Config &config, std::vector<Detection> *out,
                         std::string *error) {
  if (!require_elements(coverage, "coverage [C,H,W]", error) ||
      !require_elements(bbox, "bbox [4C,H,W]", error))
    return false;
  const std::vector<size_t> cd = squeeze_leading(coverage.dims), bd = squeeze_leading(bbox.dims);
  size_t cov_elements = 0, bbox_elements = 0;
  if (cd.size() != 3 || bd.size() != 3 || !dims_product(cd, &cov_elements) ||
      !dims_product(bd, &bbox_elements) || cd[0] > (SIZE_MAX / 4) || bd[0] != 4 * cd[0] ||
      bd[1] != cd[1] || bd[2] != cd[2] || cov_elements != coverage.count ||
      bbox_elements != bbox.count) {
    return fail(error, "DetectNet_v2 layers '" + coverage.name + "' and '" + bbox.name +
                           "' must be [C,H,W] and [4C,H,W] with matching grids");
  }
  if (!(config.bbox_norm > 0.0f) || !finite(config.offset)) {
    return fail(error, "DetectNet_v2 bbox_norm must be > 0 and offset finite");
  }
  const size_t classes = cd[0], grid_h = cd[1], grid_w = cd[2], cells = grid_h * grid_w;
  const float stride_x = static_cast<float>((net_w + grid_w - 1) / grid_w);
  const float stride_y = static_cast<float>((net_h + grid_h - 1) / grid_h);
  const float norm = config.bbox_norm;
  const float w = static_cast<float>(net_w), h = static_cast<float>(net_h);
  std::vector<float> cov, o0, o1, o2, o3;
  for (size_t c = 0; c < classes; ++c) {
    std::vector<Candidate> candidates;
    if (c < params.num_classes && c < params.pre_cluster_threshold.size()) {
      const float threshold = params.pre_cluster_threshold[c];
      read_plane(coverage, c * cells, cells, &cov);
      read_plane(bbox, (4 * c) * cells, cells, &o0);
      read_plane(bbox, (4 * c + 1) * cells, cells, &o1);
      read_plane(bbox, (4 * c + 2) * cells, cells, &o2);
      read_plane(bbox, (4 * c + 3) * cells, cells, &o3);
      for (size_t cell = 0; cell < cells; ++cell) {
        const float v = cov[cell];
        if (!(v >= threshold) || !finite(v)) continue;  // DetectionParams::accepts()
        if (!finite(o0[cell]) || !finite(o1[cell]) || !finite(o2[cell]) || !finite(o3[cell])) continue;
        const float gx = static_cast<float>(cell % grid_w), gy = static_cast<float>(cell / grid_w);
        const float cx = (gx * stride_x + config.offset) / norm;
        const float cy = (gy * stride_y + config.offset) / norm;
        candidates.push_back({clampf((o0[cell] - cx) * -norm, 0.0f, w), clampf((o1[cell] - cy) * -norm, 0.0f, h),
                              clampf((o2[cell] + cx) * norm, 0.0f, w), clampf((o3[cell] + cy) * norm, 0.0f, h), v});
      }
    }
    for (const Candidate &k : cluster_class(std::move(candidates), config.for_class(c))) {
      if (!(k.x2 > k.x1 && k.y2 > k.y1)) continue;
      out->push_back({static_cast<int>(c), k.x1, k.y1, k.x2, k.y2, k.score});
    }
  }
  return true;
}

bool classify_softmax(const TensorView &probabilities, float threshold, ClassifierResult *out,
                      std::string *error) {
  if (!require_elements(probabilities, "class probabilities [C]", error)) return false;
  *out = ClassifierResult{};
  float best = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < probabilities.count; ++i) {
    const float p = probabilities.at(i);
    if (finite(p) && p > best) {
      best = p;
      out->class_id = static_cast<unsigned>(i);
      out->found = true;
    }
  }
  out->confidence = out->found ? best : 0.0f;
  if (out->found && !(best >= threshold)) out->found = false;
  return true;
}

bool decode_ctc_greedy(const TensorView &ids, const TensorView &confidences, long blank, PlateResult *out,
                       std::string *error) {
  if (!require_elements(ids, "character ids [T]", error) ||
      !require_elements(confidences, "character confidences [T]", error))
    return false;
  if (ids.count != confidences.count) {
    *error = "character ids '" + ids.name + "' have " + std::to_string(ids.count) + " steps but confidences '" +
             confidences.name + "' " + std::to_string(confidences.count);
    return false;
  }
  *out = PlateResult{};
  bool have_previous = false;
  long previous = 0;
  for (size_t step = 0; step < ids.count; ++step) {
    const float raw = ids.at(step);
    const long id = static_cast<long>(raw);
    if (!finite(raw) || static_cast<float>(id) != raw || id < 0 || id > blank) {
      *error = "character ids '" + ids.name + "' step " + std::to_string(step) + " is " + std::to_string(raw) +
               ", outside 0.." + std::to_string(blank) + " (the dictionary's characters + the blank)";
      return false;
    }
    if ((!have_previous || id != previous) && id != blank) {
      out->character_ids.push_back(id);
      out->confidences.push_back(confidences.at(step));
    }
    previous = id;
    have_previous = true;
  }
  return true;
}

namespace {
double per_class(const std::vector<double> &values, size_t class_id, double fallback) {
  if (values.empty()) return fallback;
  return values[std::min(class_id, values.size() - 1)];
}
}  // namespace

DetectNetV2Config DetectNetV2Config::for_class(size_t class_id) const {
  DetectNetV2Config c = *this;
  c.dbscan_eps = per_class(class_eps, class_id, dbscan_eps);
  c.dbscan_min_samples = per_class(class_min_samples, class_id, dbscan_min_samples);
  c.dbscan_confidence_threshold = per_class(class_confidence, class_id, dbscan_confidence_threshold);
  c.minimum_bounding_box_height = per_class(class_min_height, class_id, minimum_bounding_box_height);
  return c;
}

bool parse_detectnet_v2_config(const char *text, DetectNetV2Config *config, std::string *error) {
  if (text == nullptr) return true;
  std::istringstream in(text);
  std::string item;
  while (in >> item) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return fail(error, "TAOSTREAM_DETECTNET_V2: '" + item + "' is not key=value");
    }
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "mode") {
      if (value == "none") config->mode = ClusterMode::kNone;
      else if (value == "dbscan") config->mode = ClusterMode::kDbscan;
      else if (value == "nms") config->mode = ClusterMode::kNms;
      else if (value == "dbscan_nms") config->mode = ClusterMode::kDbscanNms;
      else return fail(error, "TAOSTREAM_DETECTNET_V2: mode must be none, dbscan, nms or dbscan_nms, not '" + value + "'");
      continue;
    }
    std::vector<double> numbers;
    std::istringstream list(value);
    std::string part;
    while (std::getline(list, part, ',')) {
      char *end = nullptr;
      const double number = std::strtod(part.c_str(), &end);
      if (part.empty() || end == nullptr || *end != '\0' || !std::isfinite(number)) {
        return fail(error, "TAOSTREAM_DETECTNET_V2: " + key + " needs a number, got '" + value + "'");
      }
      numbers.push_back(number);
    }
    if (numbers.empty()) {
      return fail(error, "TAOSTREAM_DETECTNET_V2: " + key + " needs a number, got '" + value + "'");
    }
    const bool per_class_key = key == "eps" || key == "min_samples" || key == "confidence" || key == "min_height";
    if (numbers.size() > 1 && !per_class_key) {
      return fail(error, "TAOSTREAM_DETECTNET_V2: " + key + " takes one number, got '" + value + "'");
    }
    const double number = numbers.front();
    if (key == "eps") config->class_eps = numbers;
    else if (key == "min_samples") config->class_min_samples = numbers;
    else if (key == "confidence") config->class_confidence = numbers;
    else if (key == "min_height") config->class_min_height = numbers;
    else if (key == "nms_iou") config->nms_iou_threshold = number;
    else if (key == "top_k") config->top_k = static_cast<long>(number);
    else if (key == "bbox_norm") config->bbox_norm = static_cast<float>(number);
    else if (key == "offset") config->offset = static_cast<float>(number);
    else if (key == "max_candidates") config->max_candidates = static_cast<long>(number);
    else return fail(error, "TAOSTREAM_DETECTNET_V2: unknown key '" + key + "'");
  }
  return true;
}

}  // namespace taostream
