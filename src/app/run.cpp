// rgflow run: every stage of a pipeline file in order, in one MPI job. The plan (which stages,
// their outputs under -outdir, their inputs and options) is core/pipeline_plan's; here each stage
// gets a PETSc options database of its own, every stage checks its options before the first one
// starts, and a stage whose output is complete is kept, so rerunning after a failure continues
// where it stopped.
#include <cstdio>

#include "commands.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/core/petsc.hpp"
#include "rgflow/core/pipeline_file.hpp"
#include "rgflow/core/pipeline_plan.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/train/data.hpp"

namespace rgflow::app {
namespace {

// A planned stage, its options database (holding the plan's options) and what it did.
struct Task {
  explicit Task(PlannedStage planned) : plan(std::move(planned)) {
    for (const StageOption& option : plan.options) options->set(option.name, option.value);
  }
  PlannedStage plan;
  // The stage's own options database: PETSc's global one holds at most 512 options, fewer than
  // a study's grid of models needs, and a private one per stage also keeps stages apart.
  std::unique_ptr<OptionsDatabase> options = std::make_unique<OptionsDatabase>();
  std::string status;  // after the run: done, kept, up to date
  double seconds = 0;
};

// Runs the subcommand `stage`: collective over `world`, as every subcommand is.
int dispatch(const std::string& stage, const Comm& world, const Invocation& invocation) {
  if (stage == "generate") return run_generate(world, invocation);
  if (stage == "train") return run_train(world, invocation);
  return run_analyze(world, invocation);
}

// How `task` runs inside `run`: its prefix, the run's command line. Local.
Invocation invocation_for(const Task& task, const Invocation& run) {
  Invocation stage_invocation;
  stage_invocation.prefix = task.plan.prefix;
  stage_invocation.command_line = run.command_line;
  stage_invocation.in_pipeline = true;
  return stage_invocation;
}

// The stage reads and checks its options; then nothing may be left unread. Collective over
// `world` only as far as the stage's own option checks are (they are local).
void validate(const Comm& world, const Task& task, const Invocation& run,
              const std::string& pipeline_path) {
  const UseOptions scope(*task.options);
  Invocation stage_invocation = invocation_for(task, run);
  stage_invocation.validate_only = true;
  try {
    dispatch(task.plan.stage, world, stage_invocation);
  } catch (const UsageError& error) {
    throw UsageError(locate_in_file(error.what(), task.plan, pipeline_path));
  }
  const std::string first = first_unused_option();
  if (!first.empty()) throw UsageError(unknown_option_message(task.plan, first, pipeline_path));
}

// The results are kept when they are complete and newer than every file they were made from
// (a retrained model makes them stale); otherwise the stage is told to replace them. Collective
// over `world`: rank 0 looks, every rank follows.
bool analysis_up_to_date(const Comm& world, Task& task) {
  int fresh = 0;
  if (world.rank() == 0) {
    std::vector<double> input_times;
    for (const auto& input : task.plan.inputs) input_times.push_back(io::modification_time(input));
    fresh = results_up_to_date(io::modification_time(task.plan.output), input_times) ? 1 : 0;
  }
  fresh = static_cast<int>(world.broadcast(std::to_string(fresh)) == "1");
  if (!fresh) task.options->set(task.plan.prefix + "force", "");
  return fresh == 1;
}

// Runs the selected tasks in order. Collective over `world`.
void execute(const Comm& world, const Invocation& run, std::vector<Task>& tasks,
             const std::vector<size_t>& selected, bool force, bool quiet) {
  // The models trained on the same data share its pairs instead of reading them again.
  const train::PairSharing sharing;
  for (size_t k = 0; k < selected.size(); ++k) {
    Task& task = tasks[selected[k]];
    const PlannedStage& plan = task.plan;
    if (world.rank() == 0 && !quiet) {
      std::printf("\n== rgflow run [%zu/%zu] %s%s%s -> %s\n", k + 1, selected.size(),
                  plan.stage.c_str(), plan.name.empty() ? "" : " ", plan.name.c_str(),
                  plan.output.c_str());
      std::fflush(stdout);
    }
    if (plan.stage == "analyze" && !force && analysis_up_to_date(world, task)) {
      task.status = "up to date";
      if (world.rank() == 0 && !quiet) {
        std::printf("rgflow run: '%s' is newer than all its inputs; nothing to do\n",
                    plan.output.c_str());
      }
      continue;
    }
    const bool existed = io::modification_time(plan.output) >= 0;
    const double start = wall_seconds();
    const UseOptions scope(*task.options);
    Invocation stage_invocation = invocation_for(task, run);
    try {
      dispatch(plan.stage, world, stage_invocation);
    } catch (const UsageError& error) {
      throw UsageError("stage " + plan.stage + (plan.name.empty() ? "" : " '" + plan.name + "'") +
                       " failed: " + error.what() + " (completed stages' outputs are kept)");
    }
    task.seconds = world.max(wall_seconds() - start);
    task.status = existed && !force ? "kept" : "done";
  }
}

// The closing table of stages and the commands that draw the figures. Rank 0.
void report(const std::vector<Task>& tasks, const std::vector<size_t>& selected,
            const std::string& pipeline_path, const std::string& outdir, double seconds,
            int ranks) {
  std::printf("\nrgflow run: %s finished in %.1f s on %d rank(s)\n", pipeline_path.c_str(), seconds,
              ranks);
  std::printf("  %-9s %-16s %-11s %9s  %s\n", "stage", "name", "status", "seconds", "output");
  for (size_t k : selected) {
    const Task& task = tasks[k];
    std::printf("  %-9s %-16s %-11s %9.1f  %s\n", task.plan.stage.c_str(),
                task.plan.name.empty() ? "-" : task.plan.name.c_str(), task.status.c_str(),
                task.seconds, task.plan.output.c_str());
  }
  std::printf("Tables: %s/results/*.csv\n", outdir.c_str());
  for (size_t k : selected) {
    const PlannedStage& plan = tasks[k].plan;
    if (plan.stage == "analyze") {
      std::printf("Figures: python3 scripts/plot_results.py %s%s%s\n", plan.output.c_str(),
                  plan.models.empty() ? "" : " --models ", plan.models.c_str());
    }
  }
}

}  // namespace

// Collective over `world` (commands.hpp).
int run_pipeline(const Comm& world, const Invocation& invocation,
                 const std::string& pipeline_path) {
  OptionReader options(invocation.prefix, invocation.help);
  std::string outdir = options.get_string(
      "outdir", "", "folder for every output [default runs/<pipeline file name>]");
  const std::string stage = options.get_choice(
      "stage", "all", {"all", "generate", "train", "analyze"}, "run only this stage (batch jobs)");
  const std::string model = options.get_string("model", "", "train stage: only this model");
  const int64_t model_index = options.get_int(
      "model_index", -1, "train stage: only the model at this 0-based position (job arrays)", -1,
      INT32_MAX);
  const bool list_models =
      options.get_flag("list_models", "print the model names, one per line, and stop");
  const bool force = options.get_flag("force", "redo every stage even if its output is complete");
  const bool quiet = options.get_flag("quiet", "only the summary");
  if (invocation.help) {
    if (world.rank() == 0) {
      options.print_help("rgflow run PIPELINE.yaml [options]");
      std::fputs(kPipelineFileHelp, stdout);
    }
    return 0;
  }
  if (pipeline_path.empty()) {
    throw UsageError("no pipeline file given (usage: rgflow run PIPELINE.yaml [-outdir DIR])");
  }
  // Rank 0 reads the file and every rank parses the same text: one verdict everywhere.
  std::string text;
  world.root_phase("run: read pipeline", [&] { text = read_pipeline_text(pipeline_path); });
  text = world.broadcast(text);
  PipelineFile file = parse_pipeline(pipeline_path, text);
  const std::string selection = selection_problem(file, stage, model, model_index);
  if (!selection.empty()) throw UsageError(selection);
  outdir = pipeline_outdir(outdir, pipeline_path);

  // The command line's options that rgflow run itself did not take: each must belong to a stage.
  const auto command_line = unused_options();
  const std::vector<PlannedStage> plans = plan_pipeline(file, command_line, {outdir, force, quiet});
  // The command line's stage options are taken; one that no stage takes is a typo.
  for (const auto& option : command_line) {
    if (belongs_to_a_stage(plans, option.first)) mark_option_used(option.first);
  }
  const std::string unused = first_unused_option();
  if (!unused.empty()) {
    throw UsageError("unknown option -" + unused +
                     " (not an option of rgflow run, nor of a stage of '" + file.path + "')");
  }
  std::vector<Task> tasks(plans.begin(), plans.end());
  for (const Task& task : tasks) validate(world, task, invocation, file.path);
  if (list_models) {
    if (world.rank() == 0) {
      for (const auto& entry : file.models) std::printf("%s\n", entry.name.c_str());
    }
    return 0;
  }
  // The folders, checked by trying: nothing else has been written yet.
  world.root_phase("run: folders", [&] {
    for (const char* sub : {"", "/data", "/models", "/results"}) {
      const std::string error = io::make_folders(outdir + sub);
      if (!error.empty()) throw UsageError("option -outdir: " + error);
    }
  });
  // One pipeline run per folder at a time. A job-array task (one model) does not take the lock,
  // as its siblings run beside it (each model's own output lock keeps them apart), but it is
  // refused while a whole run holds the folder.
  io::FileLock run_lock;
  world.root_phase("run: lock", [&] {
    const std::string lock = outdir + "/.rgflow-run.lock";
    const std::string what = "the pipeline folder '" + outdir + "'";
    const std::string held = !model.empty() || model_index >= 0
                                 ? io::FileLock::held_by_other(lock, what)
                                 : io::FileLock::acquire(lock, what, &run_lock);
    if (!held.empty()) throw UsageError("option -outdir: " + held);
  });
  const std::vector<size_t> selected = select_stages(plans, file, stage, model, model_index);
  world.root_phase("run: check inputs", [&] {
    const std::string problem = check_inputs(plans, selected, file.path, io::input_file_problem);
    if (!problem.empty()) throw UsageError(problem);
  });
  const double start = wall_seconds();
  execute(world, invocation, tasks, selected, force, quiet);
  if (world.rank() == 0) {
    report(tasks, selected, pipeline_path, outdir, wall_seconds() - start, world.size());
  }
  return 0;
}

}  // namespace rgflow::app
