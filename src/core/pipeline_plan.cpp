#include "rgflow/core/pipeline_plan.hpp"

#include <strings.h>

#include <set>

#include "rgflow/core/error.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/core/text.hpp"

namespace rgflow {

// The parsed file's look-ups (parse_pipeline in pipeline_file.cpp builds the structure).
const PipelineOption* PipelineEntry::find(const std::string& key) const {
  for (const auto& option : options) {
    if (option.key == key) return &option;
  }
  return nullptr;
}

namespace {

const PipelineEntry* find_named(const std::vector<PipelineEntry>& entries,
                                const std::string& name) {
  for (const auto& entry : entries) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

}  // namespace

const PipelineEntry* PipelineFile::dataset(const std::string& name) const {
  return find_named(datasets, name);
}

const PipelineEntry* PipelineFile::model(const std::string& name) const {
  return find_named(models, name);
}

const StageOption* PlannedStage::find(const std::string& name) const {
  for (const auto& option : options) {
    if (strcasecmp(option.name.c_str(), name.c_str()) == 0) return &option;
  }
  return nullptr;
}

namespace {

bool starts_with(const std::string& text, const std::string& start) {
  return text.rfind(start, 0) == 0;
}

// A value meant as a file rather than a name of the pipeline.
bool looks_like_path(const std::string& value) {
  const bool h5_suffix = value.size() > 3 && value.compare(value.size() - 3, 3, ".h5") == 0;
  return h5_suffix || value.find('/') != std::string::npos;
}

PlannedStage make_stage(const std::string& stage, const std::string& name,
                        const std::string& output) {
  PlannedStage planned;
  planned.stage = stage;
  planned.name = name;
  planned.prefix = stage + "_" + (name.empty() ? "" : name + "_");
  planned.output = output;
  return planned;
}

// The option of a dataset entry as written in the file, or `default_value`: used to pair test
// sets with training data of the same block geometry.
std::string entry_value(const PipelineEntry* entry, const std::string& key,
                        const std::string& default_value) {
  const PipelineOption* option = entry == nullptr ? nullptr : entry->find(key);
  return option == nullptr ? default_value : option->value;
}

// Builds the stages one after another; `current_` is the stage whose options are being set.
class Planner {
 public:
  Planner(const PipelineFile& file,
          const std::vector<std::pair<std::string, std::string>>& command_line,
          const PlanSettings& settings)
      : file_(file), command_line_(command_line), settings_(settings) {}

  std::vector<PlannedStage> plan() {
    for (const auto& dataset : file_.datasets) {
      begin(make_stage("generate", dataset.name, dataset_path(dataset.name)));
      insert_entry(dataset, "generate: " + dataset.name);
      set_output_options();
      finish();
    }
    for (const auto& model : file_.models) {
      begin(make_stage("train", model.name, model_path(model.name)));
      const std::string where = "train: " + model.name;
      insert_entry(model, where);
      insert_entry(file_.train_defaults, "train: defaults");
      const std::string data = lookup("data");
      if (data.empty()) {
        if (file_.datasets.size() != 1) {
          fail(model.line, "model '" + model.name + "' needs 'data:' (the name of a dataset" +
                               dataset_list() + ")");
        }
        current_.data = dataset_path(file_.datasets[0].name);
      } else {
        current_.data = resolve_dataset(data, "'" + where + "': data");
      }
      set("data", current_.data);
      set_output_options();
      finish();
    }
    if (file_.analyses.empty() && !file_.datasets.empty()) plan_analysis(PipelineEntry());
    for (const auto& analysis : file_.analyses) plan_analysis(analysis);
    return std::move(stages_);
  }

 private:
  // Makes `stage` the one being planned, holding the command line's options with its prefix
  // (which win over the file's).
  void begin(PlannedStage stage) {
    current_ = std::move(stage);
    for (const auto& [name, value] : command_line_) {
      if (starts_with(name, current_.prefix)) set_full(name, value);
    }
  }

  void finish() { stages_.push_back(std::move(current_)); }

  [[noreturn]] void fail(int line, const std::string& problem) const {
    throw UsageError("pipeline file '" + file_.path + "', line " + std::to_string(line) + ": " +
                     problem);
  }

  std::string dataset_path(const std::string& name) const {
    return settings_.outdir + "/data/" + name + ".h5";
  }
  std::string model_path(const std::string& name) const {
    return settings_.outdir + "/models/" + name + ".h5";
  }

  std::string dataset_list() const {
    if (file_.datasets.empty()) return "; the pipeline defines none";
    std::vector<std::string> names;
    for (const auto& dataset : file_.datasets) names.push_back(dataset.name);
    return ": " + join_names(names);
  }

  static std::string join_names(const std::vector<std::string>& names) {
    std::string list;
    for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
    return list;
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
    std::vector<std::string> names;
    for (const auto& model : file_.models) names.push_back(model.name);
    throw UsageError("pipeline file '" + file_.path + "': " + where + " '" + value +
                     "' is not a model of the train stage" +
                     (names.empty() ? "; the pipeline defines none" : ": " + join_names(names)));
  }

  const PlannedStage& train_stage(const std::string& name) const {
    for (const auto& stage : stages_) {
      if (stage.stage == "train" && stage.name == name) return stage;
    }
    throw LibraryError("no train stage '" + name + "'");
  }

  const PipelineEntry* dataset_at(const std::string& path) const {
    for (const auto& dataset : file_.datasets) {
      if (dataset_path(dataset.name) == path) return &dataset;
    }
    return nullptr;
  }

  // The current stage's option `key` (after its prefix), "" when unset or a flag.
  std::string lookup(const std::string& key) const {
    const std::string name = current_.prefix + key;
    const StageOption* option = current_.find(name);
    if (option != nullptr && option->value.size() > kMaxOptionLength) {
      throw UsageError("option -" + name + ": the value is longer than " +
                       std::to_string(kMaxOptionLength) + " characters");
    }
    return option == nullptr ? "" : option->value;
  }

  bool given(const std::string& key) const { return current_.find(current_.prefix + key); }

  void set(const std::string& key, const std::string& value) {
    set_full(current_.prefix + key, value);
  }

  void set_full(const std::string& name, const std::string& value) {
    for (auto& option : current_.options) {
      if (strcasecmp(option.name.c_str(), name.c_str()) == 0) {
        option.value = value;
        return;
      }
    }
    current_.options.push_back({name, value});
  }

  void clear(const std::string& key) {
    auto& options = current_.options;
    for (auto it = options.begin(); it != options.end(); ++it) {
      if (strcasecmp(it->name.c_str(), (current_.prefix + key).c_str()) == 0) {
        options.erase(it);
        return;
      }
    }
  }

  // The file's values, unless the same option was given on the command line (or earlier, by a
  // model's own entry over the defaults).
  void insert_entry(const PipelineEntry& entry, const std::string& where) {
    for (const auto& option : entry.options) {
      if (option.key == "o" || option.key == "force" || option.key == "resume") {
        fail(option.line, "'" + option.key + "' under '" + where +
                              "' is decided by rgflow run (outputs go under -outdir; use "
                              "'rgflow run -force' to redo stages)");
      }
      if (given(option.key)) continue;
      set(option.key, option.value);
      current_.origins[current_.prefix + option.key] = {where + ": " + option.key, option.line};
    }
  }

  void set_output_options() {
    set("o", current_.output);
    set(settings_.force ? "force" : "resume", "");
    if (settings_.quiet && !given("quiet")) set("quiet", "");
  }

  void plan_analysis(const PipelineEntry& entry) {
    const std::string stem = entry.name.empty() ? "results" : entry.name;
    begin(make_stage("analyze", entry.name, settings_.outdir + "/results/" + stem + ".h5"));
    const std::string where = entry.name.empty() ? "analyze" : "analyze: " + entry.name;
    insert_entry(entry, where);
    // Defaults: the training data of the first model; the models trained on that data; every
    // other dataset of the same dimension and block side.
    std::string data = lookup("data");
    if (data.empty()) {
      if (!file_.models.empty()) {
        data = train_stage(file_.models[0].name).data;
      } else if (!file_.datasets.empty()) {
        data = dataset_path(file_.datasets[0].name);
      } else {
        fail(entry.line, "'" + where + "' needs 'data:' (the pipeline generates no dataset)");
      }
    } else {
      data = resolve_dataset(data, "'" + where + ": data'");
    }
    set("data", data);
    const std::string models = lookup("models");
    std::vector<std::string> resolved;
    if (models.empty()) {
      for (const auto& model : file_.models) {
        if (train_stage(model.name).data == data) resolved.push_back(model_path(model.name));
      }
    } else {
      for (const std::string& item : split_list(models)) {
        resolved.push_back(resolve_model(item, "'" + where + ": models'"));
      }
    }
    if (!resolved.empty()) set("models", join_list(resolved));
    const bool has_models = !resolved.empty();
    const std::string eval = lookup("eval_data");
    resolved.clear();
    if (eval.empty() && has_models) {
      const PipelineEntry* own = dataset_at(data);
      for (const auto& dataset : file_.datasets) {
        const std::string path = dataset_path(dataset.name);
        const bool same_blocks =
            own == nullptr || (entry_value(own, "d", "2") == entry_value(&dataset, "d", "2") &&
                               entry_value(own, "b", "2") == entry_value(&dataset, "b", "2"));
        if (path != data && same_blocks) resolved.push_back(path);
      }
    } else if (!eval.empty() && eval != "none") {
      for (const std::string& item : split_list(eval)) {
        resolved.push_back(resolve_dataset(item, "'" + where + ": eval_data'"));
      }
    }
    if (!resolved.empty()) {
      set("eval_data", join_list(resolved));
    } else if (!eval.empty()) {
      clear("eval_data");
    }
    set("o", current_.output);
    if (settings_.force) set("force", "");  // otherwise decided when it runs (up to date or not)
    if (settings_.quiet && !given("quiet")) set("quiet", "");
    current_.models = lookup("models");
    current_.inputs.push_back(data);
    for (const std::string key : {"models", "eval_data"}) {
      for (const std::string& item : split_list(lookup(key))) current_.inputs.push_back(item);
    }
    finish();
  }

  const PipelineFile& file_;
  const std::vector<std::pair<std::string, std::string>>& command_line_;
  const PlanSettings& settings_;
  std::vector<PlannedStage> stages_;
  PlannedStage current_;
};

}  // namespace

std::vector<PlannedStage> plan_pipeline(
    const PipelineFile& file, const std::vector<std::pair<std::string, std::string>>& command_line,
    const PlanSettings& settings) {
  return Planner(file, command_line, settings).plan();
}

bool belongs_to_a_stage(const std::vector<PlannedStage>& stages, const std::string& name) {
  for (const auto& stage : stages) {
    if (starts_with(name, stage.prefix)) return true;
  }
  return false;
}

std::string selection_problem(const PipelineFile& file, const std::string& stage,
                              const std::string& model, int64_t model_index) {
  if (file.datasets.empty() && file.models.empty() && file.analyses.empty()) {
    return "pipeline file '" + file.path + "' defines no stage";
  }
  if (!model.empty() && file.model(model) == nullptr) {
    return "option -model: '" + model + "' is not a model of '" + file.path + "'";
  }
  if (model_index >= static_cast<int64_t>(file.models.size())) {
    return "option -model_index: " + std::to_string(model_index) + " is out of range ('" +
           file.path + "' has " + std::to_string(file.models.size()) + " models)";
  }
  if ((!model.empty() || model_index >= 0) && stage != "train") {
    return "options -model and -model_index need -stage train";
  }
  return "";
}

std::vector<size_t> select_stages(const std::vector<PlannedStage>& stages, const PipelineFile& file,
                                  const std::string& stage, const std::string& model,
                                  int64_t model_index) {
  std::vector<size_t> selected;
  for (size_t k = 0; k < stages.size(); ++k) {
    const PlannedStage& planned = stages[k];
    if (stage != "all" && planned.stage != stage) continue;
    if (!model.empty() && planned.name != model) continue;
    if (model_index >= 0 && planned.name != file.models[static_cast<size_t>(model_index)].name) {
      continue;
    }
    selected.push_back(k);
  }
  return selected;
}

std::string check_inputs(const std::vector<PlannedStage>& stages,
                         const std::vector<size_t>& selected, const std::string& pipeline_path,
                         const std::function<std::string(const std::string&)>& file_problem) {
  std::set<std::string> made;
  for (size_t k : selected) {
    const PlannedStage& stage = stages[k];
    std::vector<std::string> reads;
    if (stage.stage == "train") reads.push_back(stage.data);
    if (stage.stage == "analyze") reads = stage.inputs;
    const std::string who = stage.stage == "train" ? "model '" + stage.name + "'"
                            : stage.name.empty()   ? std::string("the analysis")
                                                   : "analysis '" + stage.name + "'";
    for (const auto& input : reads) {
      if (made.count(input) > 0) continue;
      const std::string problem = file_problem(input);
      if (!problem.empty()) {
        return "pipeline file '" + pipeline_path + "': " + who + " reads '" + input + "', which " +
               problem + (problem == "does not exist" ? "; no stage of this run makes it" : "");
      }
    }
    made.insert(stage.output);
  }
  return "";
}

bool results_up_to_date(double output_time, const std::vector<double>& input_times) {
  if (output_time < 0) return false;
  for (const double input_time : input_times) {
    if (input_time < 0 || input_time > output_time) return false;
  }
  return true;
}

std::string stage_of_option(const std::string& option) {
  for (const char* stage : {"generate", "train", "analyze"}) {
    if (starts_with(option, std::string(stage) + "_")) return stage;
  }
  return "run";
}

std::string locate_in_file(const std::string& message, const PlannedStage& stage,
                           const std::string& pipeline_path) {
  for (const auto& [option, origin] : stage.origins) {
    if (starts_with(message, "option -" + option + ":") ||
        starts_with(message, "option -" + option + " ")) {
      return "pipeline file '" + pipeline_path + "', line " + std::to_string(origin.second) + ": " +
             message;
    }
  }
  return message;
}

std::string pipeline_name(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  const auto dot = name.find_last_of('.');
  if (dot != std::string::npos && dot > 0) name = name.substr(0, dot);
  return name.empty() ? "pipeline" : name;
}

std::string pipeline_outdir(const std::string& outdir, const std::string& pipeline_path) {
  std::string folder = outdir.empty() ? "runs/" + pipeline_name(pipeline_path) : outdir;
  while (folder.size() > 1 && folder.back() == '/') folder.pop_back();
  return folder;
}

std::string unknown_option_message(const PlannedStage& stage, const std::string& option,
                                   const std::string& pipeline_path) {
  const auto origin = stage.origins.find(option);
  if (origin == stage.origins.end()) {
    return "unknown option -" + option + " (misspelt? run with -help to list options)";
  }
  return "pipeline file '" + pipeline_path + "', line " + std::to_string(origin->second.second) +
         ": unknown option '" + origin->second.first + "' (run 'rgflow " + stage_of_option(option) +
         " -help' for the options)";
}

}  // namespace rgflow
