// numpy's default argsort (introsort on int64), ported so that splitters that
// sort by count (GroupKFold) order ties exactly as scikit-learn does.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "cv/splitters.h"

namespace tf::cv {

namespace {
int msb(int64_t n) {
  int depth = 0;
  while (n >>= 1) ++depth;
  return depth;
}

// Sifts `tmp` down from 1-based position i of heap a[1..n].
void sift_down(const std::vector<int64_t>& v, int64_t* a, int64_t i, int64_t n, int64_t tmp) {
  for (int64_t j = i << 1; j <= n;) {
    if (j < n && v[a[j]] < v[a[j + 1]]) j += 1;
    if (!(v[tmp] < v[a[j]])) break;
    a[i] = a[j];
    i = j;
    j += j;
  }
  a[i] = tmp;
}

void aheapsort(const std::vector<int64_t>& v, int64_t* tosort, int64_t n) {
  int64_t* a = tosort - 1;  // 1-based
  for (int64_t l = n >> 1; l > 0; --l) sift_down(v, a, l, n, a[l]);
  for (; n > 1;) {
    int64_t tmp = a[n];
    a[n] = a[1];
    n -= 1;
    sift_down(v, a, 1, n, tmp);
  }
}
}  // namespace

std::vector<int64_t> numpy_argsort(const std::vector<int64_t>& v) {
  const int64_t num = static_cast<int64_t>(v.size());
  std::vector<int64_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  if (num < 2) return idx;
  constexpr int64_t kSmall = 15;
  int64_t* pl = idx.data();
  int64_t* pr = idx.data() + num - 1;
  std::vector<int64_t*> stack;
  std::vector<int> depth_stack;
  int cdepth = msb(num) * 2;
  auto less = [&](int64_t a, int64_t b) { return v[a] < v[b]; };
  for (;;) {
    if (cdepth < 0) {
      aheapsort(v, pl, pr - pl + 1);
    } else {
      while ((pr - pl) > kSmall) {
        int64_t* pm = pl + ((pr - pl) >> 1);
        if (less(*pm, *pl)) std::swap(*pm, *pl);
        if (less(*pr, *pm)) std::swap(*pr, *pm);
        if (less(*pm, *pl)) std::swap(*pm, *pl);
        int64_t vp = v[*pm];
        int64_t* pi = pl;
        int64_t* pj = pr - 1;
        std::swap(*pm, *pj);
        for (;;) {
          do ++pi;
          while (v[*pi] < vp);
          do --pj;
          while (vp < v[*pj]);
          if (pi >= pj) break;
          std::swap(*pi, *pj);
        }
        int64_t* pk = pr - 1;
        std::swap(*pi, *pk);
        if (pi - pl < pr - pi) {
          stack.push_back(pi + 1);
          stack.push_back(pr);
          pr = pi - 1;
        } else {
          stack.push_back(pl);
          stack.push_back(pi - 1);
          pl = pi + 1;
        }
        depth_stack.push_back(--cdepth);
      }
      for (int64_t* pi = pl + 1; pi <= pr; ++pi) {  // insertion sort
        int64_t vi = *pi;
        int64_t vpv = v[vi];
        int64_t* pj = pi;
        int64_t* pk = pi - 1;
        while (pj > pl && vpv < v[*pk]) *pj-- = *pk--;
        *pj = vi;
      }
    }
    if (stack.empty()) break;
    pr = stack.back();
    stack.pop_back();
    pl = stack.back();
    stack.pop_back();
    cdepth = depth_stack.back();
    depth_stack.pop_back();
  }
  return idx;
}

}  // namespace tf::cv
