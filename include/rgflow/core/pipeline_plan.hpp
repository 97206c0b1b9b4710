// The plan of `rgflow run`: which stages a pipeline file asks for, in which order, where each
// writes, which files each reads, and the options each stage receives (the command line's, which
// win, then the file's). Pure functions of the parsed file, the command line and the folder: no
// MPI, no PETSc, no file system (callers pass what they found on disk), so they unit-test alone.
// src/app/run.cpp puts each stage's options into a PETSc database of its own and runs it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rgflow/core/pipeline_file.hpp"

namespace rgflow {

/// One option of a stage: its full name with the stage's prefix, without the dash, and its value
/// ("" for a flag).
struct StageOption {
  std::string name;
  std::string value;
};

/// What one stage of the pipeline is to do.
struct PlannedStage {
  std::string stage;   // generate, train, analyze
  std::string name;    // dataset, model or analysis name; "" for a single unnamed analysis
  std::string prefix;  // "<stage>_<name>_" or "<stage>_"
  std::string output;
  std::string data;                 // train: the dataset file
  std::string models;               // analyze: the model files, comma separated
  std::vector<std::string> inputs;  // analyze: every file the results are made from
  /// The stage's options, each name once. Names compare without regard to case, as PETSc's do.
  std::vector<StageOption> options;
  /// Options that came from the file: name -> (the place as written, "train: m1: activation",
  /// and its line), so a message about an option can point into the file.
  std::map<std::string, std::pair<std::string, int>> origins;

  /// The option `name`, or nullptr.
  const StageOption* find(const std::string& name) const;
};

/// What `rgflow run` itself was given.
struct PlanSettings {
  std::string outdir;  // without a trailing slash
  bool force = false;  // redo every stage
  bool quiet = false;  // only the summary
};

/// Every stage of `file`: datasets, then models, then analyses (an unnamed default analysis when
/// the file has datasets but no analyze stage). `command_line`: the options (name without dash,
/// value) that rgflow run did not take itself; each one with a stage's prefix goes to that stage
/// and wins over the file. UsageError, one line naming the file (and the line where there is
/// one), for an option the file may not set (o, force, resume), a model without data when the
/// file has several datasets, a name that is neither a dataset (model) of the file nor a path, or
/// a value longer than kMaxOptionLength.
std::vector<PlannedStage> plan_pipeline(
    const PipelineFile& file, const std::vector<std::pair<std::string, std::string>>& command_line,
    const PlanSettings& settings);

/// Whether the command-line option `name` (without dash) goes to one of `stages`.
bool belongs_to_a_stage(const std::vector<PlannedStage>& stages, const std::string& name);

/// "" when `-stage` `stage`, `-model` `model` ("": not given) and `-model_index` `model_index`
/// (-1: not given) can select from `file`, else the problem in one line naming the file or the
/// option: a file that defines no stage, a model that is not in the file, an index out of range,
/// -model or -model_index without -stage train.
std::string selection_problem(const PipelineFile& file, const std::string& stage,
                              const std::string& model, int64_t model_index);

/// The positions in `stages` that `-stage` (all, generate, train, analyze), `-model` ("": any)
/// and `-model_index` (-1: any) select, in order. `model_index` indexes `file.models`.
std::vector<size_t> select_stages(const std::vector<PlannedStage>& stages, const PipelineFile& file,
                                  const std::string& stage, const std::string& model,
                                  int64_t model_index);

/// "" when every file a selected stage reads is either fine on disk or the output of a selected
/// stage before it; otherwise the first problem, naming the file, the stage and the file it
/// reads. `file_problem(path)` says what is wrong with an existing path on disk ("" when it is a
/// readable file; "does not exist", "is not a file", "cannot be read").
std::string check_inputs(const std::vector<PlannedStage>& stages,
                         const std::vector<size_t>& selected, const std::string& pipeline_path,
                         const std::function<std::string(const std::string&)>& file_problem);

/// Whether results are up to date: they exist (`output_time` >= 0, a modification time) and every
/// input exists (time >= 0) and is not newer than them.
bool results_up_to_date(double output_time, const std::vector<double>& input_times);

/// The stage ("generate", "train", "analyze") whose prefix `option` has, or "run".
std::string stage_of_option(const std::string& option);

/// `message` with "pipeline file '<path>', line <n>: " before it when it is about an option that
/// came from the file (it starts with "option -<name>:" or "option -<name> "); else unchanged.
std::string locate_in_file(const std::string& message, const PlannedStage& stage,
                           const std::string& pipeline_path);

/// The pipeline's name: the file name without folder and extension ("pipeline" if none).
std::string pipeline_name(const std::string& path);

/// The folder of every output: `outdir` (-outdir) without trailing slashes, or
/// "runs/<pipeline name>" when it is empty.
std::string pipeline_outdir(const std::string& outdir, const std::string& pipeline_path);

/// The message for the option `option` (without dash) that `stage` left unread after reading its
/// options: where the file set it, "pipeline file '<path>', line <n>: unknown option
/// '<train: m1: activaton>' (run 'rgflow train -help' for the options)"; else (the command line)
/// "unknown option -<option> (misspelt? run with -help to list options)".
std::string unknown_option_message(const PlannedStage& stage, const std::string& option,
                                   const std::string& pipeline_path);

}  // namespace rgflow
