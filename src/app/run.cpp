// rgflow run: every stage of a pipeline file in order, in one MPI job. The file's leaves become
// prefixed options in PETSc's database (a value given on the command line wins), every stage
// checks its options before the first one starts, outputs go to fixed places under -outdir, and a
// stage whose output is complete is kept, so rerunning after a failure continues where it stopped.
#include <petscsys.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "commands.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/core/petsc.hpp"
#include "rgflow/core/pipeline_file.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/core/text.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/train/data.hpp"

namespace rgflow::app {
namespace {

// An options database of its own (RAII), and its use as the default one for a scope.
class OptionsDatabase {
 public:
  OptionsDatabase() { RGFLOW_PETSC(PetscOptionsCreate(&handle_)); }
  ~OptionsDatabase() { PetscOptionsDestroy(&handle_); }
  OptionsDatabase(const OptionsDatabase&) = delete;
  OptionsDatabase& operator=(const OptionsDatabase&) = delete;
  PetscOptions get() const { return handle_; }

 private:
  PetscOptions handle_ = nullptr;
};

class UseOptions {
 public:
  explicit UseOptions(const OptionsDatabase& options) {
    RGFLOW_PETSC(PetscOptionsPush(options.get()));
  }
  ~UseOptions() { PetscOptionsPop(); }
  UseOptions(const UseOptions&) = delete;
  UseOptions& operator=(const UseOptions&) = delete;
};

// What one stage of the pipeline is to do, and what it did.
struct Task {
  std::string stage;  // generate, train, analyze
  std::string name;   // dataset or model name; "" for analyze
  std::string prefix;
  std::string output;
  std::string status;               // after the run: done, kept, up to date
  std::vector<std::string> inputs;  // analyze: the files the results are made from
  std::string models;               // analyze: the model files, comma separated
  std::string data;                 // train: the dataset file
  // The stage's own options database: PETSc's global one holds at most 512 options, fewer than
  // a study's grid of models needs, and a private one per stage also keeps stages apart.
  std::shared_ptr<OptionsDatabase> options;
  std::map<std::string, std::pair<std::string, int>> origins;  // option -> (place, line)
  double seconds = 0;
};

bool file_exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

double modified_time(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return 0;
  return static_cast<double>(info.st_mtim.tv_sec) +
         1e-9 * static_cast<double>(info.st_mtim.tv_nsec);
}

// mkdir -p; "" or the reason it failed.
std::string make_folders(const std::string& path) {
  std::string built;
  std::stringstream parts(path);
  if (!path.empty() && path[0] == '/') built = "/";
  for (std::string part; std::getline(parts, part, '/');) {
    if (part.empty()) continue;
    built += (built.empty() || built.back() == '/' ? "" : "/") + part;
    if (mkdir(built.c_str(), 0755) != 0 && errno != EEXIST) {
      return "cannot create '" + built + "': " + std::strerror(errno);
    }
  }
  struct stat info;
  if (stat(path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return "'" + path + "' is not a folder";
  }
  return "";
}

// A value meant as a file rather than a name of the pipeline.
bool looks_like_path(const std::string& value) {
  const bool h5_suffix = value.size() > 3 && value.compare(value.size() - 3, 3, ".h5") == 0;
  return h5_suffix || value.find('/') != std::string::npos;
}

Task make_task(const std::string& stage, const std::string& name, const std::string& output) {
  Task task;
  task.stage = stage;
  task.name = name;
  task.prefix = stage + "_" + (name.empty() ? "" : name + "_");
  task.output = output;
  task.options = std::make_shared<OptionsDatabase>();
  return task;
}

std::string base_name(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  const auto dot = name.find_last_of('.');
  if (dot != std::string::npos && dot > 0) name = name.substr(0, dot);
  return name.empty() ? "pipeline" : name;
}

class PipelineRun {
 public:
  PipelineRun(const Comm& world, const Invocation& invocation, PipelineFile file,
              std::string outdir, bool force, bool quiet)
      : world_(world),
        invocation_(invocation),
        file_(std::move(file)),
        outdir_(std::move(outdir)),
        force_(force),
        quiet_(quiet) {}

  const std::vector<Task>& tasks() const { return tasks_; }

  /// Plans the tasks, each with its options: the command line's, then the file's.
  void plan() {
    collect_command_line();
    for (const auto& dataset : file_.datasets) {
      Task task = make_task("generate", dataset.name, dataset_path(dataset.name));
      begin(task);
      insert_entry(task.prefix, dataset, "generate: " + dataset.name);
      set_output_options(task);
      tasks_.push_back(task);
    }
    for (const auto& model : file_.models) {
      Task task = make_task("train", model.name, model_path(model.name));
      begin(task);
      const std::string where = "train: " + model.name;
      insert_entry(task.prefix, model, where);
      insert_entry(task.prefix, file_.train_defaults, "train: defaults");
      const std::string data = lookup(task.prefix + "data");
      if (data.empty()) {
        if (file_.datasets.size() != 1) {
          fail(model.line, "model '" + model.name + "' needs 'data:' (the name of a dataset" +
                               dataset_list() + ")");
        }
        task.data = dataset_path(file_.datasets[0].name);
      } else {
        task.data = resolve_dataset(data, "'" + where + "': data");
      }
      set(task.prefix + "data", task.data);
      set_output_options(task);
      tasks_.push_back(task);
    }
    if (file_.analyses.empty() && !file_.datasets.empty()) plan_analysis(PipelineEntry());
    for (const auto& analysis : file_.analyses) plan_analysis(analysis);
    // A command-line option no stage takes is a typo.
    const std::string first = first_unused_option();
    if (!first.empty()) {
      throw UsageError("unknown option -" + first +
                       " (not an option of rgflow run, nor of a stage of '" + file_.path + "')");
    }
  }

  /// Every stage reads and checks its options; then nothing may be left unread.
  void validate() {
    for (const auto& task : tasks_) validate(task);
  }

  void validate(const Task& task) {
    const UseOptions scope(*task.options);
    check_stage(task);
    const std::string first = first_unused_option();
    if (first.empty()) return;
    const auto origin = task.origins.find(first);
    if (origin != task.origins.end()) {
      throw UsageError("pipeline file '" + file_.path + "', line " +
                       std::to_string(origin->second.second) + ": unknown option '" +
                       origin->second.first + "' (run 'rgflow " + stage_of(first) +
                       " -help' for the options)");
    }
    throw UsageError("unknown option -" + first + " (misspelt? run with -help to list options)");
  }

  /// Rank 0: every file a selected task reads either exists (a regular, readable file) or is the
  /// output of a selected task before it; "" or the first problem. Checked before any stage
  /// starts, so a missing input never stops a pipeline halfway.
  std::string check_inputs(const std::vector<size_t>& selected) const {
    std::set<std::string> made;
    for (size_t k : selected) {
      const Task& task = tasks_[k];
      std::vector<std::string> reads;
      if (task.stage == "train") reads.push_back(task.data);
      if (task.stage == "analyze") reads = task.inputs;
      const std::string who = task.stage == "train" ? "model '" + task.name + "'"
                              : task.name.empty()   ? std::string("the analysis")
                                                    : "analysis '" + task.name + "'";
      for (const auto& input : reads) {
        if (made.count(input) > 0) continue;
        struct stat info;
        std::string problem;
        if (stat(input.c_str(), &info) != 0) {
          problem = "does not exist";
        } else if (!S_ISREG(info.st_mode)) {
          problem = "is not a file";
        } else if (!std::ifstream(input)) {
          problem = "cannot be read";
        }
        if (!problem.empty()) {
          return "pipeline file '" + file_.path + "': " + who + " reads '" + input + "', which " +
                 problem + (file_exists(input) ? "" : "; no stage of this run makes it");
        }
      }
      made.insert(task.output);
    }
    return "";
  }

  /// Runs the selected tasks in order.
  void execute(const std::vector<size_t>& selected) {
    const auto train_cache = std::make_shared<train::PairCache>();
    for (size_t k = 0; k < selected.size(); ++k) {
      Task& task = tasks_[selected[k]];
      if (world_.rank() == 0 && !quiet_) {
        std::printf("\n== rgflow run [%zu/%zu] %s%s%s -> %s\n", k + 1, selected.size(),
                    task.stage.c_str(), task.name.empty() ? "" : " ", task.name.c_str(),
                    task.output.c_str());
        std::fflush(stdout);
      }
      if (task.stage == "analyze" && !force_ && analysis_up_to_date(task)) {
        task.status = "up to date";
        if (world_.rank() == 0 && !quiet_) {
          std::printf("rgflow run: '%s' is newer than all its inputs; nothing to do\n",
                      task.output.c_str());
        }
        continue;
      }
      const bool existed = file_exists(task.output);
      const double start = wall_seconds();
      const UseOptions scope(*task.options);
      Invocation stage_invocation = invocation_for(task);
      stage_invocation.train_cache = train_cache;
      try {
        dispatch(task.stage, world_, stage_invocation);
      } catch (const UsageError& error) {
        throw UsageError("stage " + task.stage + (task.name.empty() ? "" : " '" + task.name + "'") +
                         " failed: " + error.what() + " (completed stages' outputs are kept)");
      }
      task.seconds = world_.max(wall_seconds() - start);
      task.status = existed && !force_ ? "kept" : "done";
    }
  }

 private:
  static int dispatch(const std::string& stage, const Comm& world, const Invocation& invocation) {
    if (stage == "generate") return run_generate(world, invocation);
    if (stage == "train") return run_train(world, invocation);
    return run_analyze(world, invocation);
  }

  Invocation invocation_for(const Task& task) const {
    Invocation stage_invocation;
    stage_invocation.prefix = task.prefix;
    stage_invocation.command_line = invocation_.command_line;
    stage_invocation.in_pipeline = true;
    return stage_invocation;
  }

  // The stage reads and checks its options only.
  void check_stage(const Task& task) {
    Invocation stage_invocation = invocation_for(task);
    stage_invocation.validate_only = true;
    try {
      dispatch(task.stage, world_, stage_invocation);
    } catch (const UsageError& error) {
      // Name the place in the file the offending option came from, when it came from the file.
      std::string message = error.what();
      for (const auto& [option, origin] : task.origins) {
        const std::string quoted = "option -" + option + ":";
        const std::string bare = "option -" + option + " ";
        if (message.rfind(quoted, 0) == 0 || message.rfind(bare, 0) == 0) {
          message = "pipeline file '" + file_.path + "', line " + std::to_string(origin.second) +
                    ": " + message;
          break;
        }
      }
      throw UsageError(message);
    }
  }

  // The command line's options that rgflow run itself did not take: each must belong to a stage.
  void collect_command_line() {
    PetscInt count = 0;
    char** names = nullptr;
    char** values = nullptr;
    RGFLOW_PETSC(PetscOptionsLeftGet(nullptr, &count, &names, &values));
    for (PetscInt k = 0; k < count; ++k) {
      command_line_.emplace_back(names[k], values[k] ? values[k] : "");
    }
    RGFLOW_PETSC(PetscOptionsLeftRestore(nullptr, &count, &names, &values));
  }

  // Makes `task` the one being planned, its database holding the command line's options with its
  // prefix (which win over the file's), each then marked used in the global database.
  void begin(Task& task) {
    current_task_ = &task;
    current_ = task.options->get();
    for (const auto& [name, value] : command_line_) {
      if (name.rfind(task.prefix, 0) != 0) continue;
      set(name, value);
      PetscBool found = PETSC_FALSE;  // reading marks the option used
      std::vector<char> buffer(kMaxOptionLength + 2, '\0');
      RGFLOW_PETSC(PetscOptionsGetString(nullptr, nullptr, ("-" + name).c_str(), buffer.data(),
                                         buffer.size(), &found));
    }
  }

  const Task& train_task(const std::string& name) const {
    for (const auto& task : tasks_) {
      if (task.stage == "train" && task.name == name) return task;
    }
    throw LibraryError("no train task '" + name + "'");
  }

  std::string stage_of(const std::string& option) const {
    for (const char* stage : {"generate", "train", "analyze"}) {
      if (option.rfind(std::string(stage) + "_", 0) == 0) return stage;
    }
    return "run";
  }

  [[noreturn]] void fail(int line, const std::string& problem) const {
    throw UsageError("pipeline file '" + file_.path + "', line " + std::to_string(line) + ": " +
                     problem);
  }

  std::string dataset_path(const std::string& name) const {
    return outdir_ + "/data/" + name + ".h5";
  }
  std::string model_path(const std::string& name) const {
    return outdir_ + "/models/" + name + ".h5";
  }

  std::string dataset_list() const {
    if (file_.datasets.empty()) return "; the pipeline defines none";
    std::string list;
    for (const auto& dataset : file_.datasets) list += (list.empty() ? "" : ", ") + dataset.name;
    return ": " + list;
  }

  // A dataset name of the generate stage, or the path of an existing file.
  std::string resolve_dataset(const std::string& value, const std::string& where) const {
    if (file_.dataset(value) != nullptr) return dataset_path(value);
    if (looks_like_path(value)) return value;  // a dataset made elsewhere
    throw UsageError("pipeline file '" + file_.path + "': " + where + " '" + value +
                     "' is not a dataset of the generate stage" + dataset_list() +
                     " (or give a path to a .h5 file)");
  }

  std::string resolve_model(const std::string& value, const std::string& where) const {
    if (file_.model(value) != nullptr) return model_path(value);
    if (looks_like_path(value)) return value;
    std::string list;
    for (const auto& model : file_.models) list += (list.empty() ? "" : ", ") + model.name;
    throw UsageError("pipeline file '" + file_.path + "': " + where + " '" + value +
                     "' is not a model of the train stage" +
                     (list.empty() ? "; the pipeline defines none" : ": " + list));
  }

  std::string lookup(const std::string& name) const {
    std::vector<char> buffer(kMaxOptionLength + 2, '\0');
    PetscBool set = PETSC_FALSE;
    RGFLOW_PETSC(PetscOptionsGetString(current_, nullptr, ("-" + name).c_str(), buffer.data(),
                                       buffer.size(), &set));
    if (set && std::strlen(buffer.data()) > kMaxOptionLength) {
      throw UsageError("option -" + name + ": the value is longer than " +
                       std::to_string(kMaxOptionLength) + " characters");
    }
    return set ? buffer.data() : "";
  }

  bool given(const std::string& name) const {
    PetscBool set = PETSC_FALSE;
    RGFLOW_PETSC(PetscOptionsHasName(current_, nullptr, ("-" + name).c_str(), &set));
    return set == PETSC_TRUE;
  }

  void set(const std::string& name, const std::string& value) {
    RGFLOW_PETSC(PetscOptionsSetValue(current_, ("-" + name).c_str(),
                                      value.empty() ? nullptr : value.c_str()));
  }

  // The file's values, unless the same option was given on the command line (or earlier, by a
  // model's own entry over the defaults).
  void insert_entry(const std::string& prefix, const PipelineEntry& entry,
                    const std::string& where) {
    for (const auto& option : entry.options) {
      if (option.key == "o" || option.key == "force" || option.key == "resume") {
        fail(option.line, "'" + option.key + "' under '" + where +
                              "' is decided by rgflow run (outputs go under -outdir; use "
                              "'rgflow run -force' to redo stages)");
      }
      const std::string name = prefix + option.key;
      if (given(name)) continue;
      set(name, option.value);
      current_task_->origins[name] = {where + ": " + option.key, option.line};
    }
  }

  void set_output_options(const Task& task) {
    set(task.prefix + "o", task.output);
    set(task.prefix + (force_ ? "force" : "resume"), "");
    if (quiet_ && !given(task.prefix + "quiet")) set(task.prefix + "quiet", "");
  }

  // The option of a dataset entry as written in the file ("" when absent): used to pair test
  // sets with training data of the same block geometry.
  static std::string entry_value(const PipelineEntry* entry, const std::string& key,
                                 const std::string& default_value) {
    const PipelineOption* option = entry == nullptr ? nullptr : entry->find(key);
    return option == nullptr ? default_value : option->value;
  }

  const PipelineEntry* dataset_at(const std::string& path) const {
    for (const auto& dataset : file_.datasets) {
      if (dataset_path(dataset.name) == path) return &dataset;
    }
    return nullptr;
  }

  void plan_analysis(const PipelineEntry& entry) {
    const std::string stem = entry.name.empty() ? "results" : entry.name;
    Task task = make_task("analyze", entry.name, outdir_ + "/results/" + stem + ".h5");
    begin(task);
    const std::string where = entry.name.empty() ? "analyze" : "analyze: " + entry.name;
    const std::string& p = task.prefix;
    insert_entry(p, entry, where);
    // Defaults: the training data of the first model; the models trained on that data; every
    // other dataset of the same dimension and block side.
    std::string data = lookup(p + "data");
    if (data.empty()) {
      if (!file_.models.empty()) {
        data = train_task(file_.models[0].name).data;
      } else if (!file_.datasets.empty()) {
        data = dataset_path(file_.datasets[0].name);
      } else {
        fail(entry.line, "'" + where + "' needs 'data:' (the pipeline generates no dataset)");
      }
    } else {
      data = resolve_dataset(data, "'" + where + ": data'");
    }
    set(p + "data", data);
    const std::string models = lookup(p + "models");
    std::string resolved;
    if (models.empty()) {
      for (const auto& model : file_.models) {
        if (train_task(model.name).data == data) {
          resolved += (resolved.empty() ? "" : ",") + model_path(model.name);
        }
      }
    } else {
      for (const std::string& item : split_list(models)) {
        resolved += (resolved.empty() ? "" : ",") + resolve_model(item, "'" + where + ": models'");
      }
    }
    if (!resolved.empty()) set(p + "models", resolved);
    const bool has_models = !resolved.empty();
    const std::string eval = lookup(p + "eval_data");
    resolved.clear();
    if (eval.empty() && has_models) {
      const PipelineEntry* own = dataset_at(data);
      for (const auto& dataset : file_.datasets) {
        const std::string path = dataset_path(dataset.name);
        const bool same_blocks =
            own == nullptr || (entry_value(own, "d", "2") == entry_value(&dataset, "d", "2") &&
                               entry_value(own, "b", "2") == entry_value(&dataset, "b", "2"));
        if (path != data && same_blocks) resolved += (resolved.empty() ? "" : ",") + path;
      }
    } else if (!eval.empty() && eval != "none") {
      for (const std::string& item : split_list(eval)) {
        resolved +=
            (resolved.empty() ? "" : ",") + resolve_dataset(item, "'" + where + ": eval_data'");
      }
    }
    if (!resolved.empty()) {
      set(p + "eval_data", resolved);
    } else if (!eval.empty()) {
      RGFLOW_PETSC(PetscOptionsClearValue(current_, ("-" + p + "eval_data").c_str()));
    }
    set(p + "o", task.output);
    if (force_) set(p + "force", "");  // otherwise decided when it runs (up to date or not)
    if (quiet_ && !given(p + "quiet")) set(p + "quiet", "");
    task.models = lookup(p + "models");
    task.inputs.push_back(data);
    for (const std::string& list : {p + "models", p + "eval_data"}) {
      for (const std::string& item : split_list(lookup(list))) task.inputs.push_back(item);
    }
    tasks_.push_back(task);
  }

  // The results are kept when they are complete and newer than every file they were made from
  // (a retrained model makes them stale). Rank 0 looks; every rank follows.
  bool analysis_up_to_date(const Task& task) {
    int fresh = 0;
    if (world_.rank() == 0 && file_exists(task.output)) {
      const double made = modified_time(task.output);
      fresh = 1;
      for (const auto& input : task.inputs) {
        if (!file_exists(input) || modified_time(input) > made) fresh = 0;
      }
    }
    fresh = static_cast<int>(world_.broadcast(std::to_string(fresh)) == "1");
    if (!fresh) {
      RGFLOW_PETSC(PetscOptionsSetValue(task.options->get(), ("-" + task.prefix + "force").c_str(),
                                        nullptr));
    }
    return fresh == 1;
  }

  const Comm& world_;
  const Invocation& invocation_;
  PipelineFile file_;
  std::string outdir_;
  bool force_, quiet_;
  std::vector<Task> tasks_;
  std::vector<std::pair<std::string, std::string>> command_line_;  // options for the stages
  Task* current_task_ = nullptr;                                   // the task being planned
  PetscOptions current_ = nullptr;                                 // its options database
};

// Larger than any real pipeline (the 152-model study is 20 KB): reading is bounded too.
constexpr long kMaxPipelineBytes = long{16} << 20;

constexpr const char* kPipelineHelp =
    "\n"
    "A pipeline file is YAML with up to three stages; every value is the option of that name:\n"
    "  generate:                 # datasets by name (rgflow generate -help)\n"
    "    uniform: {d: 2, L: 128, levels: 5, samples: 256, distribution: uniform}\n"
    "  train:                    # models by name (rgflow train -help); 'defaults' applies to all\n"
    "    defaults: {epochs: 4, batch: 256}\n"
    "    linear: {data: uniform, hidden: [8], activation: identity, tying: inputs}\n"
    "  analyze: {data: uniform, eval_data: [laplace]}   # rgflow analyze -help\n"
    "Outputs: DIR/data/<dataset>.h5, DIR/models/<model>.h5, DIR/results/results.h5 and CSVs.\n"
    "Any option can be overridden on the command line with its prefix, e.g. -train_linear_epochs "
    "2.\n";

}  // namespace

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
      std::fputs(kPipelineHelp, stdout);
    }
    return 0;
  }
  if (pipeline_path.empty()) {
    throw UsageError("no pipeline file given (usage: rgflow run PIPELINE.yaml [-outdir DIR])");
  }
  // Rank 0 reads the file and every rank parses the same text: one verdict everywhere.
  std::string text;
  world.local_phase("run: read pipeline", [&] {
    if (world.rank() != 0) return;
    std::ifstream in(pipeline_path);
    struct stat info;
    if (stat(pipeline_path.c_str(), &info) != 0) {
      throw UsageError("pipeline file '" + pipeline_path + "' does not exist");
    }
    if (S_ISDIR(info.st_mode) || !in) {
      throw UsageError("pipeline file '" + pipeline_path + "' cannot be read");
    }
    if (info.st_size > kMaxPipelineBytes) {
      throw UsageError("pipeline file '" + pipeline_path + "' is larger than " +
                       std::to_string(kMaxPipelineBytes >> 20) + " MiB");
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  });
  text = world.broadcast(text);
  PipelineFile file = parse_pipeline(pipeline_path, text);
  if (file.datasets.empty() && file.models.empty() && file.analyses.empty()) {
    throw UsageError("pipeline file '" + pipeline_path + "' defines no stage");
  }
  if (!model.empty() && file.model(model) == nullptr) {
    throw UsageError("option -model: '" + model + "' is not a model of '" + pipeline_path + "'");
  }
  if (model_index >= static_cast<int64_t>(file.models.size())) {
    throw UsageError("option -model_index: " + std::to_string(model_index) + " is out of range ('" +
                     pipeline_path + "' has " + std::to_string(file.models.size()) + " models)");
  }
  if ((!model.empty() || model_index >= 0) && stage != "train") {
    throw UsageError("options -model and -model_index need -stage train");
  }
  if (outdir.empty()) outdir = "runs/" + base_name(pipeline_path);
  while (outdir.size() > 1 && outdir.back() == '/') outdir.pop_back();

  PipelineRun run(world, invocation, file, outdir, force, quiet);
  run.plan();
  run.validate();
  if (list_models) {
    if (world.rank() == 0) {
      for (const auto& entry : file.models) std::printf("%s\n", entry.name.c_str());
    }
    return 0;
  }
  // The folders, checked by trying: nothing else has been written yet.
  world.local_phase("run: folders", [&] {
    if (world.rank() != 0) return;
    for (const char* sub : {"", "/data", "/models", "/results"}) {
      const std::string error = make_folders(outdir + sub);
      if (!error.empty()) throw UsageError("option -outdir: " + error);
    }
  });
  // One pipeline run per folder at a time. A job-array task (one model) does not take the lock,
  // as its siblings run beside it (each model's own output lock keeps them apart), but it is
  // refused while a whole run holds the folder.
  io::FileLock run_lock;
  world.local_phase("run: lock", [&] {
    if (world.rank() != 0) return;
    const std::string lock = outdir + "/.rgflow-run.lock";
    const std::string what = "the pipeline folder '" + outdir + "'";
    const std::string held = !model.empty() || model_index >= 0
                                 ? io::FileLock::held_by_other(lock, what)
                                 : io::FileLock::acquire(lock, what, &run_lock);
    if (!held.empty()) throw UsageError("option -outdir: " + held);
  });

  std::vector<size_t> selected;
  for (size_t k = 0; k < run.tasks().size(); ++k) {
    const Task& task = run.tasks()[k];
    if (stage != "all" && task.stage != stage) continue;
    if (!model.empty() && task.name != model) continue;
    if (model_index >= 0 && task.name != file.models[static_cast<size_t>(model_index)].name) {
      continue;
    }
    selected.push_back(k);
  }
  world.local_phase("run: check inputs", [&] {
    if (world.rank() != 0) return;
    const std::string problem = run.check_inputs(selected);
    if (!problem.empty()) throw UsageError(problem);
  });
  const double start = wall_seconds();
  run.execute(selected);
  if (world.rank() == 0) {
    std::printf("\nrgflow run: %s finished in %.1f s on %d rank(s)\n", pipeline_path.c_str(),
                wall_seconds() - start, world.size());
    std::printf("  %-9s %-16s %-11s %9s  %s\n", "stage", "name", "status", "seconds", "output");
    for (size_t k : selected) {
      const Task& task = run.tasks()[k];
      std::printf("  %-9s %-16s %-11s %9.1f  %s\n", task.stage.c_str(),
                  task.name.empty() ? "-" : task.name.c_str(), task.status.c_str(), task.seconds,
                  task.output.c_str());
    }
    std::printf("Tables: %s/results/*.csv\n", outdir.c_str());
    for (size_t k : selected) {
      const Task& task = run.tasks()[k];
      if (task.stage == "analyze") {
        std::printf("Figures: python3 scripts/plot_results.py %s%s%s\n", task.output.c_str(),
                    task.models.empty() ? "" : " --models ", task.models.c_str());
      }
    }
  }
  return 0;
}

}  // namespace rgflow::app
