// The pure steps of rgflow analyze that the stage shell calls (analysis/): the symmetry metrics'
// buffer layout (packed, summed over simulated ranks, unpacked exactly), the jackknife grouping
// chosen from -jackknife and the data's shape, and the blocks the symmetry metrics read (the
// first blocks of the whole fields, whatever the tiles).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "rgflow/analysis/data_pass.hpp"
#include "rgflow/analysis/grouped_moments.hpp"
#include "rgflow/analysis/symmetry_metrics.hpp"
#include "rgflow/coarse/block_pairs.hpp"
#include "rgflow/core/error.hpp"

namespace rgflow::analysis {
namespace {

SymmetryReport made_up_report(size_t hidden, bool graph, double base) {
  SymmetryReport report;
  report.errors = {base + 0.1, base + 0.2, base + 0.3, base + 0.4};
  for (size_t l = 0; l < hidden; ++l) {
    report.invariant_fraction.push_back(base + 1 + 0.01 * double(l));
    if (graph) report.equivariance_error.push_back(base + 2 + 0.01 * double(l));
    report.order_parameter.push_back(base + 3 + 0.01 * double(l));
  }
  return report;
}

void expect_same(const SymmetryReport& a, const SymmetryReport& b) {
  EXPECT_EQ(a.errors.permutation, b.errors.permutation);
  EXPECT_EQ(a.errors.point_group, b.errors.point_group);
  EXPECT_EQ(a.errors.sign, b.errors.sign);
  EXPECT_EQ(a.errors.scale, b.errors.scale);
  EXPECT_EQ(a.invariant_fraction, b.invariant_fraction);
  EXPECT_EQ(a.equivariance_error, b.equivariance_error);
  EXPECT_EQ(a.order_parameter, b.order_parameter);
}

TEST(AnalyzeSteps, SymmetrySumsUnpackWhatEachRankPackedAfterTheSum) {
  const std::vector<size_t> hidden{2, 0, 3};
  const std::vector<bool> graph{false, false, true};
  // Three ranks, model k set on rank k mod 3 only, buffers summed as Comm::sum does.
  std::vector<double> total;
  for (size_t rank = 0; rank < 3; ++rank) {
    SymmetrySums sums(hidden);
    sums.set(rank, made_up_report(hidden[rank], graph[rank], double(rank)));
    if (total.empty()) total.assign(sums.buffer().size(), 0.0);
    for (size_t i = 0; i < total.size(); ++i) total[i] += sums.buffer()[i];
  }
  SymmetrySums summed(hidden);
  summed.buffer() = total;
  for (size_t k = 0; k < 3; ++k) {
    expect_same(summed.report(k, graph[k]), made_up_report(hidden[k], graph[k], double(k)));
  }
  SymmetrySums sums(hidden);
  SymmetryReport too_long = made_up_report(2, false, 0);
  too_long.order_parameter.push_back(1);
  EXPECT_THROW(sums.set(0, too_long), LibraryError);
}

TEST(AnalyzeSteps, JackknifeGroupsFollowTheModeAndTheDatasShape) {
  const JackknifeNames names{"-groups", "-jackknife", "d.h5"};
  EXPECT_EQ(choose_jackknife_groups("auto", 16, 16, 4, names), JackknifeGroups::kSamples);
  EXPECT_EQ(choose_jackknife_groups("auto", 16, 15, 16, names), JackknifeGroups::kSpace);
  EXPECT_EQ(choose_jackknife_groups("space", 4, 100, 4, names), JackknifeGroups::kSpace);
  EXPECT_EQ(choose_jackknife_groups("samples", 4, 4, 1, names), JackknifeGroups::kSamples);
  const std::vector<std::array<int64_t, 2>> too_few{{3, 100}, {100, 3}};
  for (const std::string mode : {"samples", "space"}) {
    const auto shape = mode == "samples" ? too_few[0] : too_few[1];
    try {
      choose_jackknife_groups(mode, 4, shape[0], shape[1], names);
      ADD_FAILURE() << mode << " accepted";
    } catch (const UsageError& error) {
      EXPECT_NE(std::string(error.what()).find("option -groups: 4 jackknife groups"),
                std::string::npos)
          << error.what();
      EXPECT_NE(std::string(error.what()).find("'d.h5' has"), std::string::npos) << error.what();
    }
  }
  EXPECT_THROW(choose_jackknife_groups("auto", 16, 15, 15, names), UsageError);
}

TEST(AnalyzeSteps, FirstBlocksAreTheWholeFieldsFirstBlocksInSampleOrder) {
  // 32 x 32 sites, b = 2, K = 2: canonical tiles hold whole fields here, so a reader that
  // counts its calls checks that the blocks span samples as well.
  const lattice::Geometry g{2, 32, 2, 2};
  const int64_t samples = 3, per_sample = 16 * 16;
  std::vector<std::vector<double>> fields(samples, std::vector<double>(32 * 32));
  std::mt19937_64 random(5);
  std::uniform_real_distribution<double> uniform(-1, 1);
  for (auto& field : fields) {
    for (auto& v : field) v = uniform(random);
  }
  const SlabReader<double> read = [&](int level, int64_t sample, RowRange rows,
                                      std::vector<double>& out) {
    ASSERT_EQ(level, 0);
    const int64_t row = block_row_sites(g, 0);
    const auto& field = fields[static_cast<size_t>(sample)];
    out.assign(field.begin() + rows.begin * row, field.begin() + rows.end * row);
  };
  for (const int64_t limit : {int64_t{5}, per_sample + 7, 10 * per_sample}) {
    const nn::Matrix<double> x = first_blocks(g, samples, limit, read);
    ASSERT_EQ(x.rows(), 4);
    ASSERT_EQ(x.cols(), std::min(limit, samples * per_sample));
    for (int64_t column = 0; column < x.cols(); ++column) {
      std::vector<double> whole(32 * 32);
      coarse::extract_blocks(2, 32, 2, fields[static_cast<size_t>(column / per_sample)].data(),
                             whole.data());
      for (int site = 0; site < 4; ++site) {
        ASSERT_EQ(x(site, column), whole[static_cast<size_t>((column % per_sample) * 4 + site)])
            << "limit " << limit << ", block " << column;
      }
    }
  }
}

}  // namespace
}  // namespace rgflow::analysis
