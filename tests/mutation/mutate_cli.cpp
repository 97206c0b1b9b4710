// The mutation test through the rgflow executable: a dataset and a trained model made by rgflow
// are mutated (mutations.hpp: a spread of the mutations plus the cases of issue reports), and
// the stages that read them run on the mutant: info (1 rank), train and analyze (2 ranks) on a
// damaged dataset, analyze on a damaged model. Each run must succeed with its output, or end with
// exit status 1, exactly one line on stderr ("rgflow <command>: error: ..."), no library error
// block, no sanitizer report and no output file.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "../e2e/e2e_util.hpp"
#include "mutations.hpp"

namespace rgflow::e2e {
namespace {

// stderr without Open MPI's own block (between lines of dashes) about a non-zero exit.
std::vector<std::string> rgflow_stderr(const std::string& err) {
  std::vector<std::string> lines;
  std::istringstream in(err);
  bool in_launcher_block = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("-----", 0) == 0) {
      in_launcher_block = !in_launcher_block;
      continue;
    }
    if (!in_launcher_block && !line.empty()) lines.push_back(line);
  }
  return lines;
}

// "" if the run ended as it must, otherwise what went wrong.
std::string judge(const RunResult& result, const std::string& output, bool must_refuse) {
  if (result.status == 0) {
    if (must_refuse) return "accepted a file it must refuse";
    if (!output.empty() && !file_exists(output)) return "exit 0 but no output " + output;
    return "";
  }
  const std::vector<std::string> lines = rgflow_stderr(result.err);
  std::string problem;
  if (result.status != 1) problem = "exit status " + std::to_string(result.status);
  if (lines.size() != 1 || lines[0].rfind("rgflow ", 0) != 0) {
    problem += (problem.empty() ? "" : "; ") + std::to_string(lines.size()) + " stderr lines";
  }
  for (const char* marker : {"HDF5", "PETSC ERROR", "MPI_ABORT", "Signal:", "Sanitizer",
                             "runtime error:", "terminate called"}) {
    if (result.err.find(marker) != std::string::npos && lines.size() != 1) {
      problem += std::string("; stderr shows '") + marker + "'";
    }
  }
  if (!output.empty() && (file_exists(output) || file_exists(output + ".partial"))) {
    problem += (problem.empty() ? "" : "; ") + std::string("an output file was left");
  }
  if (problem.empty()) return "";
  return problem + ": " + result.err.substr(0, 600);
}

// A spread of `all` (every stride-th), plus every mutation whose description contains one of
// `wanted`.
std::vector<mutation::Mutation> pick(const std::vector<mutation::Mutation>& all, size_t count,
                                     const std::vector<std::string>& wanted) {
  std::vector<mutation::Mutation> chosen;
  const size_t stride = std::max<size_t>(1, all.size() / count);
  for (size_t i = 0; i < all.size(); ++i) {
    bool take = i % stride == stride / 2;
    for (const std::string& w : wanted) take |= all[i].description.find(w) != std::string::npos;
    if (take) chosen.push_back(all[i]);
  }
  return chosen;
}

bool non_finite(const mutation::Mutation& m) {
  for (const char* value : {"NaN", "Inf", "1e300"}) {
    if (m.description.find(value) != std::string::npos) return true;
  }
  return false;
}

// The stages on a damaged dataset (info on 1 rank, train and analyze on `ranks`), and analyze on
// a damaged model, for the mutations `keep` selects.
void run_cases(int ranks, bool (*keep)(const mutation::Mutation&)) {
  const TempFolder folder;
  const std::string data = folder.file("data.h5"), model = folder.file("model.h5");
  ASSERT_EQ(run_rgflow(1, "generate -quiet -d 2 -L 8 -b 2 -levels 2 -samples 8 -seed 3 -o " + data)
                .status,
            0);
  ASSERT_EQ(
      run_rgflow(1, "train -quiet -data " + data + " -hidden 3 -epochs 1 -batch 8 -o " + model)
          .status,
      0);
  mutation::MutationOptions options;
  options.truncations = 3;
  options.random_values = 0;
  options.essential_datasets = {"/level_0/field", "/level_1/field", "/level_2/field"};
  const auto dataset_cases =
      pick(mutation::enumerate_mutations(data, options), 16,
           {"@levels: int64 64", "/level_0/field: replaced by a group",
            "/level_0/field: fixed strings", "/level_0/field: int32",
            "/level_0/field: NaN at the first", "/level_1/field: +Inf at the last"});
  options.essential_datasets = {"/model/parameters"};
  const auto model_cases =
      pick(mutation::enumerate_mutations(model, options), 16,
           {"/history/order_parameter: replaced by a group", "@hidden: string of 11"});
  const std::string mutant = folder.file("mutant.h5"), out = folder.file("out.h5");
  int runs = 0;
  for (const auto& m : dataset_cases) {
    if (!keep(m) || !mutation::make_mutant(data, mutant, m)) continue;
    SCOPED_TRACE("dataset " + m.description);
    const struct {
      int ranks;
      std::string arguments, output;
    } commands[] = {
        {1, "info -data " + mutant, ""},
        {ranks, "train -quiet -data " + mutant + " -hidden 2 -epochs 1 -batch 8 -o " + out, out},
        {ranks, "analyze -quiet -data " + mutant + " -groups 2 -o " + out, out}};
    for (const auto& command : commands) {
      std::remove(out.c_str());
      const std::string verdict =
          judge(run_rgflow(command.ranks, command.arguments), command.output, m.must_refuse);
      EXPECT_EQ(verdict, "") << command.arguments;
      ++runs;
    }
  }
  for (const auto& m : model_cases) {
    if (!keep(m) || !mutation::make_mutant(model, mutant, m)) continue;
    SCOPED_TRACE("model " + m.description);
    std::remove(out.c_str());
    const std::string arguments =
        "analyze -quiet -data " + data + " -models " + mutant + " -groups 2 -o " + out;
    EXPECT_EQ(judge(run_rgflow(ranks, arguments), out, m.must_refuse), "") << arguments;
    ++runs;
  }
  std::printf("mutation_cli: %d rgflow runs on %d rank(s)\n", runs, ranks);
}

bool in_history(const mutation::Mutation& m) {
  return m.description.find("/history") != std::string::npos;
}

TEST(MutationCli, DamagedFilesEndInOneLineOrAValidResult) {
  run_cases(2, [](const mutation::Mutation& m) { return !non_finite(m) && !in_history(m); });
  // NaN and Inf on one rank: the rank that reads the value refuses the file.
  run_cases(1, non_finite);
}

// DatasetReader::read refuses a NaN or Inf on the rank that reads it; train and analyze agree on
// that failure across ranks (Comm::local_phase around their reads), so no rank waits forever.
TEST(MutationCli, NonFiniteValuesReachEveryRank) {
  run_cases(2, non_finite);
}

// analyze reads a model's /history with checked reads (object types, datatypes, shapes): a
// /history/order_parameter that is a group is one line, not an HDF5 error and MPI_ABORT.
TEST(MutationCli, DamagedHistoryOfAModel) {
  run_cases(2, [](const mutation::Mutation& m) { return !non_finite(m) && in_history(m); });
}

}  // namespace
}  // namespace rgflow::e2e
