// rgflow run's plan as pure functions: stages, outputs, options (command line over a model's own
// entry over the defaults), the analysis's default inputs, selection, input checks and
// freshness, each checked against values written out by hand.
#include <gtest/gtest.h>
#include <strings.h>

#include <map>
#include <string>
#include <vector>

#include "rgflow/core/error.hpp"
#include "rgflow/core/pipeline_plan.hpp"

namespace rgflow {
namespace {

PipelineEntry entry(const std::string& name, std::vector<PipelineOption> options, int line = 1) {
  PipelineEntry e;
  e.name = name;
  e.options = std::move(options);
  e.line = line;
  return e;
}

// Two datasets of d = 2 and one of d = 1; two models on the first, one on the second.
PipelineFile study() {
  PipelineFile file;
  file.path = "p.yaml";
  file.datasets = {entry("uni", {{"d", "2", 2}, {"L", "64", 2}}, 2),
                   entry("lap", {{"d", "2", 3}}, 3), entry("line", {{"d", "1", 4}}, 4)};
  file.train_defaults = entry("", {{"data", "uni", 6}, {"epochs", "4", 6}}, 6);
  file.models = {entry("a", {{"hidden", "8", 7}}, 7), entry("b", {{"epochs", "2", 8}}, 8),
                 entry("c", {{"data", "lap", 9}}, 9)};
  return file;
}

std::map<std::string, std::string> options_of(const PlannedStage& stage) {
  std::map<std::string, std::string> options;
  for (const auto& option : stage.options) options[option.name] = option.value;
  return options;
}

TEST(PipelinePlan, StagesOutputsAndOptionsInOrder) {
  const auto stages = plan_pipeline(study(), {{"train_b_epochs", "5"}}, {"out", false, true});
  ASSERT_EQ(stages.size(), 7u);  // 3 datasets, 3 models, the default analysis
  EXPECT_EQ(stages[0].prefix, "generate_uni_");
  EXPECT_EQ(stages[0].output, "out/data/uni.h5");
  EXPECT_EQ(options_of(stages[0]),
            (std::map<std::string, std::string>{{"generate_uni_d", "2"},
                                                {"generate_uni_L", "64"},
                                                {"generate_uni_o", "out/data/uni.h5"},
                                                {"generate_uni_resume", ""},
                                                {"generate_uni_quiet", ""}}));
  // A model's own value over the defaults, the command line over both.
  const PlannedStage& a = stages[3];
  const PlannedStage& b = stages[4];
  EXPECT_EQ(a.output, "out/models/a.h5");
  EXPECT_EQ(a.data, "out/data/uni.h5");
  EXPECT_EQ(options_of(a).at("train_a_epochs"), "4");
  EXPECT_EQ(options_of(a).at("train_a_data"), "out/data/uni.h5");
  EXPECT_EQ(options_of(b).at("train_b_epochs"), "5");
  EXPECT_EQ(b.origins.count("train_b_epochs"), 0u) << "the command line's value has no line";
  EXPECT_EQ(a.origins.at("train_a_hidden"), std::make_pair(std::string("train: a: hidden"), 7));
  EXPECT_EQ(a.origins.at("train_a_epochs"),
            std::make_pair(std::string("train: defaults: epochs"), 6));
  EXPECT_EQ(stages[5].data, "out/data/lap.h5");
  // The analysis: the first model's data, the models trained on it, the other datasets of the
  // same d and b as test sets (not the d = 1 one).
  const PlannedStage& analysis = stages[6];
  EXPECT_EQ(analysis.prefix, "analyze_");
  EXPECT_EQ(analysis.output, "out/results/results.h5");
  EXPECT_EQ(analysis.models, "out/models/a.h5,out/models/b.h5");
  EXPECT_EQ(options_of(analysis).at("analyze_eval_data"), "out/data/lap.h5");
  EXPECT_EQ(analysis.inputs, (std::vector<std::string>{"out/data/uni.h5", "out/models/a.h5",
                                                       "out/models/b.h5", "out/data/lap.h5"}));
  EXPECT_EQ(options_of(analysis).count("analyze_force"), 0u) << "decided when it runs";
  // -force: every stage is redone.
  const auto forced = plan_pipeline(study(), {}, {"out", true, false});
  EXPECT_EQ(options_of(forced[0]).count("generate_uni_force"), 1u);
  EXPECT_EQ(options_of(forced[0]).count("generate_uni_resume"), 0u);
  EXPECT_EQ(options_of(forced[6]).count("analyze_force"), 1u);
}

TEST(PipelinePlan, NamesCompareWithoutCaseAsPetscDoes) {
  // PETSc's database finds -TRAIN_A_EPOCHS under -train_a_epochs: one option, the command line's.
  const auto stages = plan_pipeline(study(), {{"train_a_EPOCHS", "9"}}, {"out", false, false});
  const PlannedStage& a = stages[3];
  ASSERT_NE(a.find("TRAIN_A_epochs"), nullptr);
  EXPECT_EQ(a.find("train_a_epochs")->value, "9");
  size_t epochs = 0;
  for (const auto& option : a.options)
    epochs += strcasecmp(option.name.c_str(), "train_a_epochs") == 0;
  EXPECT_EQ(epochs, 1u);
}

TEST(PipelinePlan, EvalDataNoneAndExplicitLists) {
  PipelineFile file = study();
  file.analyses = {entry("first", {{"eval_data", "none", 11}}, 11),
                   entry("second", {{"models", "a,c", 12}, {"eval_data", "line", 12}}, 12)};
  const auto stages = plan_pipeline(file, {}, {"o", false, false});
  ASSERT_EQ(stages.size(), 8u);
  EXPECT_EQ(stages[6].output, "o/results/first.h5");
  EXPECT_EQ(options_of(stages[6]).count("analyze_first_eval_data"), 0u) << "none: no test sets";
  EXPECT_EQ(stages[7].models, "o/models/a.h5,o/models/c.h5");
  EXPECT_EQ(options_of(stages[7]).at("analyze_second_eval_data"), "o/data/line.h5");
}

TEST(PipelinePlan, RefusalsNameTheFileAndLine) {
  PipelineFile file = study();
  file.models[1].options.push_back({"o", "x.h5", 8});
  try {
    plan_pipeline(file, {}, {"out", false, false});
    FAIL() << "'o' is decided by rgflow run";
  } catch (const UsageError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("pipeline file 'p.yaml', line 8: 'o' under", 0), 0u)
        << error.what();
  }
  file = study();
  file.models[2].options = {{"data", "nonesuch", 9}};
  EXPECT_THROW(plan_pipeline(file, {}, {"out", false, false}), UsageError);
  file.models[2].options = {{"data", "elsewhere/d.h5", 9}};  // a path: taken as it is
  EXPECT_EQ(plan_pipeline(file, {}, {"out", false, false})[5].data, "elsewhere/d.h5");
  file.train_defaults.options.clear();  // several datasets and no data for model a
  EXPECT_THROW(plan_pipeline(file, {}, {"out", false, false}), UsageError);
}

TEST(PipelinePlan, SelectionInputChecksAndFreshness) {
  const PipelineFile file = study();
  const auto stages = plan_pipeline(file, {}, {"out", false, false});
  EXPECT_EQ(select_stages(stages, file, "all", "", -1).size(), 7u);
  EXPECT_EQ(select_stages(stages, file, "train", "", -1), (std::vector<size_t>{3, 4, 5}));
  EXPECT_EQ(select_stages(stages, file, "train", "b", -1), (std::vector<size_t>{4}));
  EXPECT_EQ(select_stages(stages, file, "train", "", 2), (std::vector<size_t>{5}));
  EXPECT_TRUE(belongs_to_a_stage(stages, "train_c_lr"));
  EXPECT_FALSE(belongs_to_a_stage(stages, "train_d_lr"));

  // Nothing on disk: the whole run is fine (each input is made before it is read); the training
  // stage alone is not.
  const auto nothing = [](const std::string&) { return std::string("does not exist"); };
  EXPECT_EQ(check_inputs(stages, select_stages(stages, file, "all", "", -1), "p.yaml", nothing),
            "");
  EXPECT_EQ(check_inputs(stages, {3}, "p.yaml", nothing),
            "pipeline file 'p.yaml': model 'a' reads 'out/data/uni.h5', which does not exist; no "
            "stage of this run makes it");
  const auto unreadable = [](const std::string&) { return std::string("cannot be read"); };
  EXPECT_EQ(check_inputs(stages, {6}, "p.yaml", unreadable),
            "pipeline file 'p.yaml': the analysis reads 'out/data/uni.h5', which cannot be read");

  EXPECT_TRUE(results_up_to_date(10, {1, 10}));
  EXPECT_FALSE(results_up_to_date(10, {1, 11})) << "an input newer than the results";
  EXPECT_FALSE(results_up_to_date(10, {1, -1})) << "an input missing";
  EXPECT_FALSE(results_up_to_date(-1, {})) << "no results yet";
}

TEST(PipelinePlan, MessagesPointIntoTheFile) {
  const auto stages = plan_pipeline(study(), {}, {"out", false, false});
  EXPECT_EQ(locate_in_file("option -train_a_hidden: bad", stages[3], "p.yaml"),
            "pipeline file 'p.yaml', line 7: option -train_a_hidden: bad");
  EXPECT_EQ(locate_in_file("option -train_a_hiddenx: bad", stages[3], "p.yaml"),
            "option -train_a_hiddenx: bad");
  EXPECT_EQ(stage_of_option("analyze_order"), "analyze");
  EXPECT_EQ(stage_of_option("outdir"), "run");
  EXPECT_EQ(pipeline_name("pipelines/quickstart.yaml"), "quickstart");
  EXPECT_EQ(pipeline_name("dir/"), "pipeline");
}

TEST(PipelinePlan, UnknownOptionsPointIntoTheFileOrTheCommandLine) {
  PipelineFile file = study();
  file.models[0].options.push_back({"activaton", "tanh", 12});
  const auto stages = plan_pipeline(file, {{"train_a_lrr", "1"}}, {"out", false, false});
  EXPECT_EQ(unknown_option_message(stages[3], "train_a_activaton", "p.yaml"),
            "pipeline file 'p.yaml', line 12: unknown option 'train: a: activaton' (run 'rgflow "
            "train -help' for the options)");
  EXPECT_EQ(unknown_option_message(stages[3], "train_a_lrr", "p.yaml"),
            "unknown option -train_a_lrr (misspelt? run with -help to list options)");
}

TEST(PipelinePlan, SelectionOptionsAndTheOutputFolder) {
  const PipelineFile file = study();
  EXPECT_EQ(selection_problem(file, "all", "", -1), "");
  EXPECT_EQ(selection_problem(file, "train", "b", -1), "");
  EXPECT_EQ(selection_problem(file, "train", "", 2), "");
  EXPECT_EQ(selection_problem(file, "train", "z", -1),
            "option -model: 'z' is not a model of 'p.yaml'");
  EXPECT_EQ(selection_problem(file, "train", "", 3),
            "option -model_index: 3 is out of range ('p.yaml' has 3 models)");
  EXPECT_EQ(selection_problem(file, "all", "b", -1),
            "options -model and -model_index need -stage train");
  EXPECT_EQ(selection_problem(file, "analyze", "", 0),
            "options -model and -model_index need -stage train");
  PipelineFile empty;
  empty.path = "e.yaml";
  EXPECT_EQ(selection_problem(empty, "all", "", -1), "pipeline file 'e.yaml' defines no stage");

  EXPECT_EQ(pipeline_outdir("", "pipelines/quickstart.yaml"), "runs/quickstart");
  EXPECT_EQ(pipeline_outdir("out//", "p.yaml"), "out");
  EXPECT_EQ(pipeline_outdir("/", "p.yaml"), "/");
  EXPECT_EQ(pipeline_outdir("a/b", "p.yaml"), "a/b");
}

}  // namespace
}  // namespace rgflow
