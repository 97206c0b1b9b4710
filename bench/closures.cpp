// The closures' predictions for the quickstart's graph network (gnn 8-8 tanh on 2 x 2 blocks:
// chain hidden layers of 32 units) with analyze's default settings (Taylor order 3, 6
// Gauss-Hermite points, joint cumulants to order 4; --taylor_order and --quadrature_points change
// them), uniform sites. Prints the CPU seconds of each mode, median of --repeats runs (default 3),
// single thread.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <vector>

#include "rgflow/analysis/propagation.hpp"

namespace {

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 3, taylor_order = 3, points = 6;  // analyze's defaults
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--repeats") == 0) repeats = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--taylor_order") == 0) taylor_order = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--quadrature_points") == 0) points = std::atoi(argv[i + 1]);
  }
  using namespace rgflow;
  nn::ModelSpec spec;
  spec.kind = nn::ModelKind::kGnn;
  spec.block = {2, 2};
  spec.hidden = {8, 8};
  spec.activation = nn::Activation::kTanh;
  spec.seed = 1;
  nn::Network<double> net(spec);  // its own initialisation: the closures' cost does not depend on
                                  // the parameter values
  const analysis::AffineChain chain = analysis::affine_chain(net);
  const auto moments =
      field::site_raw_moments({field::DistributionKind::kUniform}, 0, 2, 2, 1.0, 8);
  for (auto mode : {analysis::PropagationMode::kTaylor, analysis::PropagationMode::kGauss}) {
    analysis::PropagationSettings settings;
    settings.mode = mode;
    settings.taylor_order = taylor_order;
    settings.quadrature_points = points;
    std::vector<double> seconds;
    double check = 0;
    for (int r = 0; r < repeats; ++r) {
      const double start = cpu_seconds();
      const auto predicted = analysis::propagate(chain, moments, settings);
      seconds.push_back(cpu_seconds() - start);
      check = predicted.back().kappa[1][0];
    }
    std::sort(seconds.begin(), seconds.end());
    std::printf("graph network 8-8 (hidden widths 32), %s closure: median %.3f s CPU (runs:",
                analysis::propagation_mode_name(mode).c_str(), seconds[seconds.size() / 2]);
    for (double s : seconds) std::printf(" %.3f", s);
    std::printf("); output kappa_2[0] %.17g\n", check);
  }
  return 0;
}
