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
#if defined(__SSE2__)
#include <emmintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

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

// GCC vector extension types (SSE2 on x86-64, NEON on aarch64, scalar code elsewhere).
typedef float V4 __attribute__((vector_size(16)));
typedef int32_t V4i __attribute__((vector_size(16)));
typedef double V2d __attribute__((vector_size(16)));

// Bit k set when lane k of a comparison result is true.
inline unsigned lane_mask(V4i m) {
#if defined(__SSE2__)
  return static_cast<unsigned>(_mm_movemask_ps(reinterpret_cast<__m128>(m)));
#else
  return (m[0] ? 1u : 0u) | (m[1] ? 2u : 0u) | (m[2] ? 4u : 0u) | (m[3] ? 8u : 0u);
#endif
}

// Four finite lanes (no NaN, no inf).
inline bool all_finite(V4 v) {
  const V4 limit = {std::numeric_limits<float>::max(), std::numeric_limits<float>::max(),
                    std::numeric_limits<float>::max(), std::numeric_limits<float>::max()};
  return lane_mask((v <= limit) & (v >= -limit)) == 0xfu;
}

std::vector<size_t> order_by_score(const std::vector<Candidate> &c) {
  std::vector<size_t> order(c.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return c[a].score > c[b].score; });
  return order;
}

// DBSCAN on TAO's distance without testing every pair, and without allocating once the buffers
// have grown (one workspace per thread, reused across calls and classes).
//
// Window: for eps < 1 a neighbour j of i needs IoU >= 1 - eps, hence an intersection width
// >= (1 - eps) * max(w_i, w_j), hence w_j <= w_i / (1 - eps) and |x1_i - x1_j| <= eps * max(w_i,
// w_j) <= eps * w_i / (1 - eps) = reach * w_i (the same for x2 and both y edges): a window that
// depends on i only. The windows carry a margin (eps + 1e-6 and + 1e-3 px) and the exact
// distance decides, so the neighbourhoods equal the all-pairs definition.
//
// Index: candidates bucketed on a grid over (x1, y1), at most 64 cells per row, so one 64-bit
// mask per row says which cells hold candidates and a query visits only the non-empty cells its
// window covers (bit scans, no loop over empty cells); a cell is skipped whole when its edge ranges
// miss the query's window or bound every box's intersection with the query's box below the
// neighbour threshold (cell_too_far()). Cell (x, y) is y << shift | x (no division). Every pair
// left is decided by within(): the exact float64 distance <= eps, with the division done only for
// quotients within 1e-9 of the threshold.
//
// Labels: scikit-learn's walk (dbscan_inner): candidates in index order; an unlabelled core
// point starts a cluster; a cluster claims every unlabelled neighbour of its core points (a
// non-core one becomes a border point of the first cluster that reaches it) and expands the core
// ones. Each cell keeps its unlabelled candidates at the front of its slice (and its own row
// mask), a claimed candidate moves out, so each core point is expanded once and an expansion
// tests only candidates still unlabelled. The unlabelled set only shrinks, so an expansion whose
// cell range lies inside one already found without unlabelled cells is skipped.
//
// Core test: the summed weight (score) of the neighbourhood, itself included, >= min_samples,
// decided when first needed. Scores are float32 summed in float64, exactly for any realistic
// coverage (a sum is exact while log2(count) + the span of the scores' binary exponents <= 29,
// e.g. scores >= 2^-10 up to 2^19 candidates), so the order of the terms cannot change it. With
// scores >= 0 the sum only grows: counting stops once it reaches min_samples, and a candidate
// claimed from core point i is core as soon as its own weight + i's reaches min_samples (any
// larger sum of non-negative terms, in any order, rounds to at least that much).
class DbscanIndex {
 public:
  std::vector<int> &run(const Candidate *c, size_t n, double eps, double min_samples) {
    labels_.assign(n, -1);
    core_.assign(n, kUnknown);
    if (n == 0) return labels_;
    c_ = c;
    eps_ = eps;
    min_samples_ = min_samples;
    // Division-free decisions (within()) only where their error bound was shown, 0 < eps < 1;
    // otherwise thresholds no finite quotient reaches.
    const bool quick = eps > 0.0 && eps < 1.0;
    accept_ = quick ? (1.0 - eps) + kQuickMargin : std::numeric_limits<double>::infinity();
    reject_ = quick ? (1.0 - eps) - kQuickMargin : -std::numeric_limits<double>::infinity();
    area_.resize(n);
    self_.resize(n);
    far_area_.resize(n);
    const bool bounded = eps > 0.0 && eps < 0.999;
    const float far_ratio = bounded ? static_cast<float>(((1.0 - eps) - kQuickMargin) * (1.0 - 1e-5)) : 0.0f;
    lo_.resize(n);
    hi_.resize(n);
    // One pass: edges as doubles, areas, each candidate's own weight when it is its own neighbour
    // (distance(i, i) spelt out), and for the index the range of (x1, y1) and the summed
    // (width, height).
    const V2d zero = {0.0, 0.0};
    V2d lo = {c[0].x1, c[0].y1}, hi = lo, sum = zero;
    bool monotone = true;
    for (size_t i = 0; i < n; ++i) {
      const Candidate &a = c[i];
      const V2d l = {a.x1, a.y1}, h = {a.x2, a.y2}, d = h - l, wh = d > zero ? d : zero;
      const double area = d[0] * d[1], inter = wh[0] * wh[1];  // area: (x2 - x1) * (y2 - y1) in double
      lo_[i] = l;
      hi_[i] = h;
      area_[i] = area;
      self_[i] = within(inter, area + area - inter + 0.01) ? a.score : 0.0;
      far_area_[i] = area >= 1.0 ? far_ratio * static_cast<float>(area) : 0.0f;
      monotone &= a.score >= 0.0f;
      lo = l < lo ? l : lo;
      hi = l > hi ? l : hi;
      sum += wh;
    }
    monotone_ = monotone;
    all_pairs_ = !(eps < 1.0);
    if (all_pairs_) {
      walk_all_pairs(n);
    } else {
      build(n, lo, hi, sum);
      walk(n);
    }
    return labels_;
  }

 private:
  static constexpr long kCellsPerRow = 64;  // one uint64_t mask per row
  static constexpr long kMaxRows = 256;
  static constexpr double kCellScale = 0.5;  // cell = half the mean window
  static constexpr char kUnknown = 2;
  static constexpr double kQuickMargin = 1e-9;

  // TAO's regularised IoU distance (utilities.iou_vectorized: denominator + 0.01): the double
  // operations of iou() above, x and y in the two lanes of one vector, the edges converted and
  // the areas computed once per candidate. (A min or max of two equal values may return either
  // zero's sign here; both give the same distance.)
  double distance(size_t i, size_t j) const {
    const V2d far = hi_[i] < hi_[j] ? hi_[i] : hi_[j], near = lo_[i] > lo_[j] ? lo_[i] : lo_[j];
    const V2d zero = {0.0, 0.0}, d = far - near, wh = d > zero ? d : zero;
    const double inter = wh[0] * wh[1];
    const double denominator = area_[i] + area_[j] - inter + 0.01;
    return 1.0 - (denominator > 0.0 ? inter / denominator : 0.0);
  }

  // distance(i, j) <= eps_, i.e. 1 - inter / denominator <= eps_ computed as distance() does,
  // without the division unless the quotient q = inter / denominator lies within 1e-9 of 1 - eps.
  // For 0 < eps < 1 (T = 1 - eps in (0, 1)): inter >= fl(denominator * fl(T + 1e-9)) gives
  // q >= T + 1e-9 - 1e-15, and the computed fl(1 - fl(q)) <= 1 - q + 2^-52 < eps; inter <
  // fl(denominator * fl(T - 1e-9)) gives q < T - 1e-9 + 1e-15 and fl(1 - fl(q)) > eps. (inter >= 0
  // and finite; for other eps the thresholds are +-inf, which no inter reaches.)
  bool within(double inter, double denominator) const {
    if (!(denominator > 0.0)) return 1.0 <= eps_;
    if (inter >= denominator * accept_) return true;
    if (inter < denominator * reject_) return false;
    return 1.0 - inter / denominator <= eps_;
  }
  bool neighbours(size_t i, size_t j) const {
    const V2d far = hi_[i] < hi_[j] ? hi_[i] : hi_[j], near = lo_[i] > lo_[j] ? lo_[i] : lo_[j];
    const V2d zero = {0.0, 0.0}, d = far - near, wh = d > zero ? d : zero;
    const double inter = wh[0] * wh[1];
    return within(inter, area_[i] + area_[j] - inter + 0.01);
  }

  static long bucket(float v, float lo, float inverse_size, long n) {
    return static_cast<long>(std::min(std::max((v - lo) * inverse_size, 0.0f), static_cast<float>(n - 1)));
  }

  void build(size_t n, V2d lo, V2d hi, V2d sum) {
    const Candidate *c = c_;
    const V2d zero = {0.0, 0.0};
    const float lo_x = static_cast<float>(lo[0]), lo_y = static_cast<float>(lo[1]);
    const double reach = std::max(0.0, (eps_ + 1e-6) / (1.0 - eps_));
    // Cells of about half the mean query window, never more than kCellsPerRow x kMaxRows. Any
    // cell size is correct: a candidate's cell and a window's cell range come from the same
    // monotone bucket() of x1 (y1), and a neighbour's x1 lies inside the window's.
    const float cell_w = static_cast<float>(std::max(reach * sum[0] / double(n) * kCellScale + 1e-3,
                                                     (hi[0] - lo[0]) / double(kCellsPerRow - 1) + 1e-3));
    const float cell_h = static_cast<float>(std::max(reach * sum[1] / double(n) * kCellScale + 1e-3,
                                                     (hi[1] - lo[1]) / double(kMaxRows - 1) + 1e-3));
    const float inv_w = 1.0f / cell_w, inv_h = 1.0f / cell_h;
    const long nx = bucket(static_cast<float>(hi[0]), lo_x, inv_w, kCellsPerRow) + 1;
    const long ny = bucket(static_cast<float>(hi[1]), lo_y, inv_h, kMaxRows) + 1;
    // Cell (x, y) is y << shift_ | x: a row is a power of two >= nx cells (no division anywhere).
    shift_ = nx > 1 ? static_cast<uint32_t>(64 - __builtin_clzll(static_cast<uint64_t>(nx - 1))) : 0;
    const size_t cells = static_cast<size_t>(ny) << shift_;
    query_.resize(n);
    cell_of_.resize(n);
    start_.assign(cells + 1, 0);
    const V2d reach2 = {reach, reach}, margin = {1e-3, 1e-3};
    // bucket() in four lanes: (x, x, y, y).
    const float last_x = static_cast<float>(nx - 1), last_y = static_cast<float>(ny - 1);
    const V4 origin = {lo_x, lo_x, lo_y, lo_y}, inverse = {inv_w, inv_w, inv_h, inv_h};
    const V4 last = {last_x, last_x, last_y, last_y}, zero4 = {0.0f, 0.0f, 0.0f, 0.0f};
    const auto buckets = [&](V4 v) {
      v = (v - origin) * inverse;
      v = v < zero4 ? zero4 : v;
      v = last < v ? last : v;
      return __builtin_convertvector(v, V4i);
    };
    for (size_t i = 0; i < n; ++i) {
      V4 a;  // x1, y1, x2, y2
      std::memcpy(&a, &c[i], sizeof a);
      // The window half-widths reach * w + 1e-3 (x) and reach * h + 1e-3 (y), in double.
      const V2d d = hi_[i] - lo_[i], window = reach2 * (d > zero ? d : zero) + margin;
      const float fx = static_cast<float>(window[0]), fy = static_cast<float>(window[1]);
      const V4 f = {fx, fy, fx, fy};
      Query &q = query_[i];
      q.lo = a - f;
      q.hi = a + f;
      const V4i range = buckets(V4{q.lo[0], q.hi[0], q.lo[1], q.hi[1]}), own = buckets(V4{a[0], a[0], a[1], a[1]});
      q.y_lo = static_cast<uint32_t>(range[2]);
      q.y_hi = static_cast<uint32_t>(range[3]);
      q.columns = (~uint64_t{0} >> (63 - range[1])) & (~uint64_t{0} << range[0]);
      q.own = (static_cast<uint32_t>(own[2]) << shift_) | static_cast<uint32_t>(own[0]);
      cell_of_[i] = q.own;
      ++start_[q.own + 1];
    }
    for (size_t k = 1; k <= cells; ++k) start_[k] += start_[k - 1];
    // Counting sort into cells (index order inside a cell) and each cell's edge ranges (a
    // superset of its unlabelled candidates' from here on); every candidate starts unlabelled.
    member_.resize(n);
    slot_.resize(n);
    live_.resize(cells);
    cell_lo_.resize(cells);
    cell_hi_.resize(cells);
    for (size_t k = 0; k < cells; ++k) live_[k] = start_[k];  // fill pointers first
    for (size_t i = 0; i < n; ++i) {
      const uint32_t k = cell_of_[i], m = live_[k]++;
      member_[m] = static_cast<uint32_t>(i);
      slot_[i] = m;
      V4 a;
      std::memcpy(&a, &c[i], sizeof a);
      if (m == start_[k]) {
        cell_lo_[k] = a;
        cell_hi_[k] = a;
      } else {
        cell_lo_[k] = a < cell_lo_[k] ? a : cell_lo_[k];
        cell_hi_[k] = a > cell_hi_[k] ? a : cell_hi_[k];
      }
    }
    occupied_.assign(static_cast<size_t>(ny), 0);
    const size_t column_mask = (size_t{1} << shift_) - 1;
    for (size_t k = 0; k < cells; ++k) {
      live_[k] = start_[k + 1] - start_[k];
      if (live_[k] != 0) occupied_[k >> shift_] |= uint64_t{1} << (k & column_mask);
    }
    pending_ = occupied_;
  }

  struct Query {
    V4 lo, hi;         // each edge (x1, y1, x2, y2) of a neighbour lies in [lo, hi]
    uint64_t columns;  // cells x_lo..x_hi of a row
    uint32_t y_lo, y_hi, own;
  };

  // Four float compares at once (SSE / NEON through GCC's vector extension).
  static bool all_of(V4i m) {
#if defined(__SSE2__)
    return _mm_movemask_ps(reinterpret_cast<__m128>(m)) == 0xf;
#elif defined(__aarch64__)
    return vminvq_u32(reinterpret_cast<uint32x4_t>(m)) != 0;
#else
    return (m[0] & m[1] & m[2] & m[3]) != 0;
#endif
  }
  static bool cell_missed(const Query &q, const V4 &lo, const V4 &hi) { return !all_of((hi >= q.lo) & (lo <= q.hi)); }

  // No candidate of cell k can be a neighbour of i: the largest intersection any box with edges in
  // the cell's ranges could have with i stays below (1 - eps) * area_i, with margins for float
  // rounding (all relative: 1e-5 against at most ~4e-7 of float error; both sides are normal
  // floats, the test runs only for areas >= 1 px and 0 < eps < 0.999). A neighbour j needs
  // inter >= q * (union + 0.01) with q >= 1 - eps - 1e-9 (within()) and union >= area_i (area_j >= inter).
  bool cell_too_far(size_t i, uint32_t k) const {
    if (!(far_area_[i] > 0.0f)) return false;
    V4 b;
    std::memcpy(&b, &c_[i], sizeof b);
    const V4 far = b < cell_hi_[k] ? b : cell_hi_[k], near = b > cell_lo_[k] ? b : cell_lo_[k];
    const float w = std::max(far[2] - near[0], 0.0f), h = std::max(far[3] - near[1], 0.0f);  // widest intersection
    return w * h < far_area_[i];
  }

  bool is_core(size_t i) { return core_[i] == kUnknown ? core_test(i) : core_[i] != 0; }

  // The core test, summing the neighbours' weights (own cell first) until min_samples.
  __attribute__((noinline)) bool core_test(size_t i) {
    double weight = self_[i];
    const auto reached = [&] { return monotone_ && weight >= min_samples_; };
    if (!reached()) {
      if (all_pairs_) {
        for (size_t j = 0; j < labels_.size() && !reached(); ++j)
          if (j != i && distance(i, j) <= eps_) weight += c_[j].score;
      } else {
        const Query &q = query_[i];
        const auto scan = [&](uint32_t k) {
          for (uint32_t m = start_[k]; m < start_[k + 1]; ++m) {
            const size_t j = member_[m];
            if (j != i && neighbours(i, j)) {
              weight += c_[j].score;
              if (reached()) return false;
            }
          }
          return true;
        };
        if (scan(q.own)) {
          const uint32_t own_row = q.own >> shift_;
          const uint64_t own_bit = uint64_t{1} << (q.own & ((uint32_t{1} << shift_) - 1));
          for (uint32_t y = q.y_lo; y <= q.y_hi; ++y) {
            uint64_t bits = occupied_[y] & q.columns;
            if (y == own_row) bits &= ~own_bit;
            bool more = true;
            while (bits && more) {
              const uint32_t k = (y << shift_) | static_cast<uint32_t>(__builtin_ctzll(bits));
              bits &= bits - 1;
              if (!cell_missed(q, cell_lo_[k], cell_hi_[k]) && !cell_too_far(i, k)) more = scan(k);
            }
            if (!more) break;
          }
        }
      }
    }
    core_[i] = weight >= min_samples_;
    return core_[i] != 0;
  }

  // Labels j (unlabelled) with `label` and takes it out of the unlabelled set; a core j is
  // pushed for expansion. `known` is the weight of one core neighbour of j (0 when none).
  void claim(size_t j, int label, double known) {
    labels_[j] = label;
    const uint32_t k = cell_of_[j], last = start_[k] + --live_[k], m = slot_[j];
    std::swap(member_[m], member_[last]);
    slot_[member_[m]] = m;
    slot_[member_[last]] = last;
    if (live_[k] == 0) pending_[k >> shift_] &= ~(uint64_t{1} << (k & ((uint32_t{1} << shift_) - 1)));
    --remaining_;
    if (core_[j] == kUnknown && monotone_ && self_[j] + known >= min_samples_) core_[j] = 1;
    if (is_core(j)) stack_.push_back(static_cast<uint32_t>(j));
  }

  void walk(size_t n) {
    remaining_ = n;
    empty_.y_lo = 1;  // no range known empty yet
    empty_.y_hi = 0;
    int next = 0;
    for (size_t s = 0; s < n && remaining_ > 0; ++s) {
      if (labels_[s] != -1 || !is_core(s)) continue;
      stack_.clear();
      claim(s, next, 0.0);
      while (!stack_.empty() && remaining_ > 0) {
        const size_t i = stack_.back();
        stack_.pop_back();
        const Query &q = query_[i];
        // Most expansions find every cell of their window already claimed: one pass of ORs
        // says so before the cell walk.
        // A range found without unlabelled cells stays so (cells only leave the pending set): a
        // window inside the last such range is skipped without reading a row.
        if (q.y_lo >= empty_.y_lo && q.y_hi <= empty_.y_hi && (q.columns & ~empty_.columns) == 0) continue;
        uint64_t any = 0;
        for (uint32_t y = q.y_lo; y <= q.y_hi; ++y) any |= pending_[y];
        if ((any & q.columns) == 0) {
          empty_ = q;
          continue;
        }
        const double weight = c_[i].score;
        for (uint32_t y = q.y_lo; y <= q.y_hi; ++y) {
          uint64_t bits = pending_[y] & q.columns;
          while (bits) {
            const uint32_t k = (y << shift_) | static_cast<uint32_t>(__builtin_ctzll(bits));
            bits &= bits - 1;
            if (cell_missed(q, cell_lo_[k], cell_hi_[k]) || cell_too_far(i, k)) continue;
            uint32_t m = start_[k];
            while (m < start_[k] + live_[k]) {
              if (neighbours(i, member_[m])) {
                claim(member_[m], next, weight);  // moves another unlabelled one into slot m
                continue;
              }
              ++m;
            }
          }
        }
      }
      ++next;
    }
  }

  void walk_all_pairs(size_t n) {
    int next = 0;
    for (size_t s = 0; s < n; ++s) {
      if (labels_[s] != -1 || !is_core(s)) continue;
      labels_[s] = next;
      stack_.assign(1, static_cast<uint32_t>(s));
      while (!stack_.empty()) {
        const size_t i = stack_.back();
        stack_.pop_back();
        for (size_t j = 0; j < n; ++j) {
          if (labels_[j] != -1 || distance(i, j) > eps_) continue;
          labels_[j] = next;
          if (core_[j] == kUnknown && monotone_ && self_[j] + c_[i].score >= min_samples_) core_[j] = 1;
          if (is_core(j)) stack_.push_back(static_cast<uint32_t>(j));
        }
      }
      ++next;
    }
  }

  const Candidate *c_ = nullptr;
  double eps_ = 0, min_samples_ = 1, accept_ = 0, reject_ = 0;
  bool all_pairs_ = false, monotone_ = true;
  uint32_t shift_ = 0;
  size_t remaining_ = 0;
  std::vector<double> area_, self_;
  std::vector<float> far_area_;  // (1 - eps) * area with margins for cell_too_far(), 0 to disable
  std::vector<V2d> lo_, hi_;  // (x1, y1), (x2, y2) as doubles
  std::vector<Query> query_;
  Query empty_{};  // the cell range of the last expansion that found no unlabelled cell
  std::vector<uint32_t> cell_of_, start_, member_, slot_, live_, stack_;
  std::vector<V4> cell_lo_, cell_hi_;
  std::vector<uint64_t> occupied_, pending_;
  std::vector<char> core_;
  std::vector<int> labels_;
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

namespace {
// The calling thread's workspaces, reached through one call: in a shared library every direct
// use of a thread_local costs a __tls_get_addr call, which the compiler repeats inside loops.
__attribute__((noinline)) DbscanIndex &dbscan_workspace() {
  thread_local DbscanIndex index;
  return index;
}

struct DecodeScratch {
  std::vector<float> cov, o0, o1, o2, o3;  // planes that are not aligned FP32
  std::vector<float> centre_x;             // each column's centre / bbox_norm
  std::vector<Candidate> found;            // room for every cell (grown, never zero-filled per class)
};
__attribute__((noinline)) DecodeScratch &decode_scratch() {
  thread_local DecodeScratch scratch;
  return scratch;
}
}  // namespace

const std::vector<int> &dbscan_labels(const std::vector<Candidate> &candidates, double eps,
                                      double min_samples) {
  return dbscan_workspace().run(candidates.data(), candidates.size(), eps, min_samples);
}

namespace {

// TAO's create_detection: coverage-weighted mean box, confidence = summed coverage.
std::vector<Candidate> dbscan_clusters(const Candidate *c, size_t n, const DetectNetV2Config &config) {
  const double min_samples = std::max(std::floor(config.dbscan_min_samples), 1.0);
  const std::vector<int> &labels = dbscan_workspace().run(c, n, config.dbscan_eps, min_samples);
  const int count = labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
  std::vector<double> weight(count, 0.0);
  for (size_t i = 0; i < n; ++i)
    if (labels[i] >= 0) weight[labels[i]] += c[i].score;
  // Per cluster the float64 sums of x1 * w, y1 * w (one vector) and x2 * w, y2 * w (another).
  std::vector<V2d> sum(2 * static_cast<size_t>(count), V2d{0.0, 0.0});
  for (size_t i = 0; i < n; ++i) {
    if (labels[i] < 0) continue;
    const double w = c[i].score / weight[labels[i]];
    const V2d ww = {w, w};
    V2d *s = &sum[2 * static_cast<size_t>(labels[i])];
    s[0] += V2d{c[i].x1, c[i].y1} * ww;
    s[1] += V2d{c[i].x2, c[i].y2} * ww;
  }
  std::vector<Candidate> clusters;
  for (int k = 0; k < count; ++k) {
    const V2d *s = &sum[2 * static_cast<size_t>(k)];
    const Candidate box{float(s[0][0]), float(s[0][1]), float(s[1][0]), float(s[1][1]), float(weight[k])};
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

// The candidates [first, first + n) of one class, clustered.
std::vector<Candidate> cluster_class(const Candidate *first, size_t n, const DetectNetV2Config &config) {
  std::vector<Candidate> candidates;  // filled only where a vector is needed (not for DBSCAN)
  if (config.max_candidates > 0 && static_cast<long>(n) > config.max_candidates) {
    candidates.assign(first, first + n);
    std::vector<size_t> keep = order_by_score(candidates);
    keep.resize(static_cast<size_t>(config.max_candidates));
    std::sort(keep.begin(), keep.end());
    candidates = select(candidates, keep);
    first = candidates.data();
    n = candidates.size();
  } else if (config.mode == ClusterMode::kNone || config.mode == ClusterMode::kNms) {
    candidates.assign(first, first + n);
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
      result = dbscan_clusters(first, n, config);
      break;
    case ClusterMode::kDbscanNms: {
      const std::vector<Candidate> clusters = dbscan_clusters(first, n, config);
      result = select(clusters, nms_keep(clusters, config.nms_iou_threshold, 0));
      break;
    }
  }
  if (config.top_k > 0 && static_cast<long>(result.size()) > config.top_k)
    result.resize(static_cast<size_t>(config.top_k));
  return result;
}

// Elements [first, first + n) as floats: the tensor's own memory for aligned FP32 buffers,
// otherwise converted into *scratch.
const float *read_plane(const TensorView &t, size_t first, size_t n, std::vector<float> *scratch) {
  if (t.type == ElementType::kFloat32 && first + n <= t.count &&
      reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0)
    return static_cast<const float *>(t.data) + first;
  scratch->resize(n);
  for (size_t i = 0; i < n; ++i) (*scratch)[i] = t.at(first + i);
  return scratch->data();
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
  DecodeScratch &scratch = decode_scratch();
  scratch.centre_x.resize(grid_w);
  for (size_t col = 0; col < grid_w; ++col)
    scratch.centre_x[col] = (static_cast<float>(col) * stride_x + config.offset) / norm;
  if (scratch.found.size() < cells) scratch.found.resize(cells);
  const float limit = std::numeric_limits<float>::max();
  const V4 scale = {-norm, -norm, norm, norm}, upper = {w, h, w, h}, zero = {0.0f, 0.0f, 0.0f, 0.0f};
  for (size_t c = 0; c < classes; ++c) {
    Candidate *next = scratch.found.data();
    if (c < params.num_classes && c < params.pre_cluster_threshold.size()) {
      const float threshold = params.pre_cluster_threshold[c];
      const float *cov = read_plane(coverage, c * cells, cells, &scratch.cov);
      const float *o0 = read_plane(bbox, (4 * c) * cells, cells, &scratch.o0);
      const float *o1 = read_plane(bbox, (4 * c + 1) * cells, cells, &scratch.o1);
      const float *o2 = read_plane(bbox, (4 * c + 2) * cells, cells, &scratch.o2);
      const float *o3 = read_plane(bbox, (4 * c + 3) * cells, cells, &scratch.o3);
      const V4 at_least = {threshold, threshold, threshold, threshold}, high = {limit, limit, limit, limit};
      for (size_t row = 0; row < grid_h; ++row) {
        const float cy = (static_cast<float>(row) * stride_y + config.offset) / norm;
        const float *line = cov + row * grid_w;
        // Four cells at a time: a bit per finite coverage >= the threshold (DetectionParams::accepts()).
        for (size_t col = 0; col < grid_w; col += 4) {
          unsigned bits = 0;
          if (col + 4 <= grid_w) {
            V4 v;
            std::memcpy(&v, line + col, sizeof v);
            bits = lane_mask((v >= at_least) & (v <= high) & (v >= -high));
          } else {
            for (size_t k = 0; col + k < grid_w; ++k)
              if (line[col + k] >= threshold && finite(line[col + k])) bits |= 1u << k;
          }
          while (bits) {
            const size_t x = col + static_cast<size_t>(__builtin_ctz(bits)), cell = row * grid_w + x;
            bits &= bits - 1;
            const V4 offsets = {o0[cell], o1[cell], o2[cell], o3[cell]};
            if (!all_finite(offsets)) continue;
            // x1 = (o0 - cx) * -norm, y1 = (o1 - cy) * -norm, x2 = (o2 + cx) * norm, y2 = (o3 + cy) * norm
            // (a - b is a + (-b) exactly), each clamped to [0, net] as clampf() does.
            const float cx = scratch.centre_x[x];
            const V4 centre = {-cx, -cy, cx, cy};
            V4 box = (offsets + centre) * scale;
            box = box < zero ? zero : box;
            box = upper < box ? upper : box;
            std::memcpy(next, &box, sizeof box);
            next->score = line[x];
            ++next;
          }
        }
      }
    }
    const size_t found = static_cast<size_t>(next - scratch.found.data());
    for (const Candidate &k : cluster_class(scratch.found.data(), found, config.for_class(c))) {
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
    // range first: converting a float outside long's range (or NaN) to long is undefined behaviour
    const bool in_range = raw >= 0.0f && raw <= static_cast<float>(blank);  // false for NaN and +-inf
    const long id = in_range ? static_cast<long>(raw) : -1;
    if (!in_range || static_cast<float>(id) != raw) {
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
