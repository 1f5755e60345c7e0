#include "tests/reference/reference_ops.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace tpserve::reference {
namespace {

size_t U(int64_t i) { return static_cast<size_t>(i); }

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double Silu(double x) { return x * Sigmoid(x); }

}  // namespace

Vec MatMul(const Vec& x, int64_t m, int64_t k, const Vec& w, int64_t n, const Vec& bias) {
  Vec out(U(m * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = bias.empty() ? 0.0 : bias[U(j)];
      for (int64_t p = 0; p < k; ++p) s += x[U(i * k + p)] * w[U(j * k + p)];
      out[U(i * n + j)] = s;
    }
  }
  return out;
}

Vec Embedding(const Vec& table, int64_t vocab, int64_t hidden, const IVec& ids,
              int64_t vocab_begin) {
  Vec out(ids.size() * U(hidden), 0.0);
  for (size_t t = 0; t < ids.size(); ++t) {
    const int64_t row = ids[t] - vocab_begin;
    if (row < 0 || row >= vocab) continue;
    for (int64_t c = 0; c < hidden; ++c) out[t * U(hidden) + U(c)] = table[U(row * hidden + c)];
  }
  return out;
}

Vec RmsNorm(const Vec& x, int64_t dim, const Vec& w, double eps, bool unit_offset) {
  Vec out(x.size());
  for (size_t r = 0; r < x.size() / U(dim); ++r) {
    double ss = 0.0;
    for (int64_t c = 0; c < dim; ++c) ss += x[r * U(dim) + U(c)] * x[r * U(dim) + U(c)];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
    for (int64_t c = 0; c < dim; ++c) {
      const double wc = unit_offset ? 1.0 + w[U(c)] : w[U(c)];
      out[r * U(dim) + U(c)] = x[r * U(dim) + U(c)] * inv * wc;
    }
  }
  return out;
}

Vec L2Norm(const Vec& x, int64_t dim, double eps, double scale) {
  Vec out(x.size());
  for (size_t r = 0; r < x.size() / U(dim); ++r) {
    double ss = 0.0;
    for (int64_t c = 0; c < dim; ++c) ss += x[r * U(dim) + U(c)] * x[r * U(dim) + U(c)];
    const double inv = 1.0 / std::sqrt(ss + eps);
    for (int64_t c = 0; c < dim; ++c) out[r * U(dim) + U(c)] = x[r * U(dim) + U(c)] * inv * scale;
  }
  return out;
}

Vec GatedRmsNorm(const Vec& x, const Vec& z, int64_t dim, const Vec& w, double eps) {
  Vec out(x.size());
  for (size_t r = 0; r < x.size() / U(dim); ++r) {
    double ss = 0.0;
    for (int64_t c = 0; c < dim; ++c) ss += x[r * U(dim) + U(c)] * x[r * U(dim) + U(c)];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
    for (int64_t c = 0; c < dim; ++c) {
      const size_t i = r * U(dim) + U(c);
      out[i] = w[U(c)] * (x[i] * inv) * Silu(z[i]);
    }
  }
  return out;
}

void Rope(Vec& x, int64_t n, int64_t heads, int64_t head_dim, const IVec& positions,
          const RopeParams& p) {
  const int64_t half = p.rotary_dim / 2;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      // Spec §4: which axis frequency i takes its position from.
      int axis;
      if (p.interleaved) {
        if (i % 3 == 1 && i < 3 * int64_t{p.sections[1]}) {
          axis = 1;
        } else if (i % 3 == 2 && i < 3 * int64_t{p.sections[2]}) {
          axis = 2;
        } else {
          axis = 0;
        }
      } else {
        axis = i < p.sections[0] ? 0 : (i < int64_t{p.sections[0]} + p.sections[1] ? 1 : 2);
      }
      const int32_t pos = positions[U(t * 3 + axis)];
      double angle;
      if (p.torch_f32_angles) {
        const float exponent = static_cast<float>(2 * i) / static_cast<float>(p.rotary_dim);
        const float inv_freq = 1.0f / std::pow(static_cast<float>(p.theta), exponent);
        angle = static_cast<double>(static_cast<float>(pos) * inv_freq);
      } else {
        angle = pos * std::pow(p.theta,
                               -2.0 * static_cast<double>(i) / static_cast<double>(p.rotary_dim));
      }
      const double c = std::cos(angle), s = std::sin(angle);
      for (int64_t h = 0; h < heads; ++h) {
        double* v = x.data() + (t * heads + h) * head_dim;
        const double x1 = v[i], x2 = v[i + half];
        v[i] = x1 * c - x2 * s;
        v[i + half] = x2 * c + x1 * s;
      }
    }
  }
}

Vec Attention(const Vec& q, int64_t n, int64_t heads, int64_t d, const std::vector<Vec>& keys,
              const std::vector<Vec>& values, int64_t kv_heads, const IVec& seq_starts,
              const IVec& context_lens, double scale, bool causal) {
  Vec out(U(n * heads * d), 0.0);
  const int64_t group = heads / kv_heads;
  for (size_t s = 0; s + 1 < seq_starts.size(); ++s) {
    const int64_t t0 = seq_starts[s], ns = seq_starts[s + 1] - t0, ctx = context_lens[s];
    for (int64_t i = 0; i < ns; ++i) {
      const int64_t visible = causal ? ctx - ns + i + 1 : ctx;
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t kvh = h / group;
        const double* qv = q.data() + ((t0 + i) * heads + h) * d;
        Vec scores(U(visible));
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < visible; ++j) {
          const double* kv = keys[s].data() + (j * kv_heads + kvh) * d;
          double dot = 0.0;
          for (int64_t c = 0; c < d; ++c) dot += qv[c] * kv[c];
          scores[U(j)] = dot * scale;
          mx = std::max(mx, scores[U(j)]);
        }
        double sum = 0.0;
        for (double& sc : scores) {
          sc = std::exp(sc - mx);
          sum += sc;
        }
        double* o = out.data() + ((t0 + i) * heads + h) * d;
        for (int64_t j = 0; j < visible; ++j) {
          const double* vv = values[s].data() + (j * kv_heads + kvh) * d;
          for (int64_t c = 0; c < d; ++c) o[c] += scores[U(j)] / sum * vv[c];
        }
      }
    }
  }
  return out;
}

Vec CausalConv1d(const Vec& x, int64_t channels, const Vec& weight, int64_t kernel, Vec& state,
                 const IVec& slots, const IVec& seq_starts, bool silu) {
  Vec out(x.size(), 0.0);
  const int64_t hist = kernel - 1;
  for (size_t s = 0; s + 1 < seq_starts.size(); ++s) {
    const int64_t t0 = seq_starts[s], ns = seq_starts[s + 1] - t0;
    double* st = state.data() + int64_t{slots[s]} * hist * channels;
    // x_ext: the state rows, then the sequence's raw inputs.
    Vec ext(U((hist + ns) * channels));
    std::copy(st, st + hist * channels, ext.begin());
    std::copy(x.begin() + t0 * channels, x.begin() + (t0 + ns) * channels,
              ext.begin() + hist * channels);
    for (int64_t t = 0; t < ns; ++t) {
      for (int64_t c = 0; c < channels; ++c) {
        double acc = 0.0;
        for (int64_t j = 0; j < kernel; ++j) {
          acc += weight[U(c * kernel + j)] * ext[U((t + j) * channels + c)];
        }
        out[U((t0 + t) * channels + c)] = silu ? Silu(acc) : acc;
      }
    }
    std::copy(ext.begin() + ns * channels, ext.end(), st);
  }
  return out;
}

void DeltaNetGates(const Vec& a, const Vec& b, int64_t heads, const Vec& a_log, const Vec& dt_bias,
                   Vec& g, Vec& beta) {
  g.assign(a.size(), 0.0);
  beta.assign(a.size(), 0.0);
  for (size_t i = 0; i < a.size(); ++i) {
    const size_t h = i % U(heads);
    const double x = a[i] + dt_bias[h];
    const double softplus = x > 20.0 ? x : std::log1p(std::exp(x));
    g[i] = -std::exp(a_log[h]) * softplus;
    beta[i] = Sigmoid(b[i]);
  }
}

Vec GatedDeltaNet(const Vec& q, const Vec& k, const Vec& v, const Vec& g, const Vec& beta,
                  int64_t k_heads, int64_t v_heads, int64_t dk, int64_t dv, Vec& state,
                  const IVec& slots, const IVec& seq_starts) {
  const int64_t n = static_cast<int64_t>(g.size()) / v_heads;
  Vec out(U(n * v_heads * dv), 0.0);
  const int64_t ratio = v_heads / k_heads;
  for (size_t s = 0; s + 1 < seq_starts.size(); ++s) {
    for (int64_t j = 0; j < v_heads; ++j) {
      double* st = state.data() + (int64_t{slots[s]} * v_heads + j) * dk * dv;  // [dk, dv]
      const int64_t kh = j / ratio;
      for (int64_t t = seq_starts[s]; t < seq_starts[s + 1]; ++t) {
        const double* qt = q.data() + (t * k_heads + kh) * dk;
        const double* kt = k.data() + (t * k_heads + kh) * dk;
        const double* vt = v.data() + (t * v_heads + j) * dv;
        const double decay = std::exp(g[U(t * v_heads + j)]);
        const double b = beta[U(t * v_heads + j)];
        for (int64_t i = 0; i < dk * dv; ++i) st[i] *= decay;  // S ← exp(g)·S
        for (int64_t c = 0; c < dv; ++c) {
          double sk = 0.0;  // (Sᵀk)[c]
          for (int64_t r = 0; r < dk; ++r) sk += st[r * dv + c] * kt[r];
          const double e = vt[c] - sk;
          for (int64_t r = 0; r < dk; ++r) st[r * dv + c] += kt[r] * b * e;  // S += k (βe)ᵀ
        }
        double* o = out.data() + (t * v_heads + j) * dv;
        for (int64_t c = 0; c < dv; ++c) {
          double acc = 0.0;  // (Sᵀq)[c]
          for (int64_t r = 0; r < dk; ++r) acc += st[r * dv + c] * qt[r];
          o[c] = acc;
        }
      }
    }
  }
  return out;
}

Vec SiluMul(const Vec& gate, const Vec& up) {
  Vec out(gate.size());
  for (size_t i = 0; i < gate.size(); ++i) out[i] = Silu(gate[i]) * up[i];
  return out;
}

Vec SigmoidMul(const Vec& x, const Vec& gate) {
  Vec out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = x[i] * Sigmoid(gate[i]);
  return out;
}

Vec Add(const Vec& a, const Vec& b) {
  Vec out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = a[i] + b[i];
  return out;
}

Vec Softmax(const Vec& x, int64_t d, double scale) {
  Vec out(x.size());
  for (size_t r = 0; r < x.size() / U(d); ++r) {
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < d; ++c) mx = std::max(mx, x[r * U(d) + U(c)] * scale);
    double sum = 0.0;
    for (int64_t c = 0; c < d; ++c) sum += std::exp(x[r * U(d) + U(c)] * scale - mx);
    for (int64_t c = 0; c < d; ++c) {
      out[r * U(d) + U(c)] = std::exp(x[r * U(d) + U(c)] * scale - mx) / sum;
    }
  }
  return out;
}

Vec LayerNorm(const Vec& x, int64_t dim, const Vec& w, const Vec& b, double eps) {
  Vec y(x.size());
  for (size_t r = 0; r * U(dim) < x.size(); ++r) {
    const double* row = x.data() + r * U(dim);
    double mean = 0.0;
    for (int64_t c = 0; c < dim; ++c) mean += row[c];
    mean /= static_cast<double>(dim);
    double var = 0.0;
    for (int64_t c = 0; c < dim; ++c) var += (row[c] - mean) * (row[c] - mean);
    var /= static_cast<double>(dim);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t c = 0; c < dim; ++c) {
      y[r * U(dim) + U(c)] = (row[c] - mean) * inv * w[U(c)] + b[U(c)];
    }
  }
  return y;
}

Vec Gelu(const Vec& x, bool tanh_approximation) {
  Vec y(x.size());
  const double kSqrt2OverPi = std::sqrt(2.0 / 3.14159265358979323846);
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    y[i] = tanh_approximation
               ? 0.5 * v * (1.0 + std::tanh(kSqrt2OverPi * (v + 0.044715 * v * v * v)))
               : 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
  }
  return y;
}

void Rope2d(Vec& x, int64_t n, int64_t heads, int64_t head_dim, const IVec& positions, double theta,
            bool torch_f32_angles) {
  const int64_t half = head_dim / 2, nf = head_dim / 4;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      const int64_t j = i < nf ? i : i - nf;  // frequency index
      const int32_t pos = positions[U(t * 2 + (i < nf ? 0 : 1))];
      double angle;
      if (torch_f32_angles) {
        const float exponent = static_cast<float>(2 * j) / static_cast<float>(half);
        const float inv_freq = 1.0f / std::pow(static_cast<float>(theta), exponent);
        angle = static_cast<double>(static_cast<float>(pos) * inv_freq);
      } else {
        angle = pos * std::pow(theta, -2.0 * static_cast<double>(j) / static_cast<double>(half));
      }
      const double c = std::cos(angle), s = std::sin(angle);
      for (int64_t h = 0; h < heads; ++h) {
        double* v = x.data() + (t * heads + h) * head_dim;
        const double x1 = v[i], x2 = v[i + half];
        v[i] = x1 * c - x2 * s;
        v[i + half] = x2 * c + x1 * s;
      }
    }
  }
}

Vec SegmentAttention(const Vec& q, const Vec& k, const Vec& v, int64_t n, int64_t heads, int64_t d,
                     const IVec& seq_starts, double scale) {
  Vec out(U(n * heads * d), 0.0);
  for (size_t s = 0; s + 1 < seq_starts.size(); ++s) {
    const int64_t b = seq_starts[s], e = seq_starts[s + 1];
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t i = b; i < e; ++i) {
        std::vector<double> p(U(e - b));
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = b; j < e; ++j) {
          double dot = 0.0;
          for (int64_t c = 0; c < d; ++c) {
            dot += q[U((i * heads + h) * d + c)] * k[U((j * heads + h) * d + c)];
          }
          p[U(j - b)] = dot * scale;
          mx = std::max(mx, p[U(j - b)]);
        }
        double sum = 0.0;
        for (double& e_ : p) {
          e_ = std::exp(e_ - mx);
          sum += e_;
        }
        for (int64_t j = b; j < e; ++j) {
          for (int64_t c = 0; c < d; ++c) {
            out[U((i * heads + h) * d + c)] += p[U(j - b)] / sum * v[U((j * heads + h) * d + c)];
          }
        }
      }
    }
  }
  return out;
}

}  // namespace tpserve::reference
