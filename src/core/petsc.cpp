#include "rgflow/core/petsc.hpp"

#include <map>
#include <string>

#include "rgflow/core/error.hpp"

namespace rgflow {

void petsc_check(PetscErrorCode code, const char* call, const char* file, int line) {
  if (code == 0) return;
  const char* text = nullptr;
  PetscErrorMessage(code, &text, nullptr);
  throw LibraryError(std::string("PETSc error in ") + call + " at " + source_location(file, line) +
                     ": " + (text ? text : "unknown error"));
}

LogStageGuard::LogStageGuard(PetscLogStage stage) {
  PetscLogStagePush(stage);
}
LogStageGuard::~LogStageGuard() {
  PetscLogStagePop();
}

PetscLogStage log_stage(const char* name) {
  static std::map<std::string, PetscLogStage> stages;
  auto found = stages.find(name);
  if (found != stages.end()) return found->second;
  PetscLogStage stage = 0;
  RGFLOW_PETSC(PetscLogStageRegister(name, &stage));
  stages.emplace(name, stage);
  return stage;
}

OptionsDatabase::OptionsDatabase() {
  RGFLOW_PETSC(PetscOptionsCreate(&handle_));
}

OptionsDatabase::~OptionsDatabase() {
  PetscOptionsDestroy(&handle_);
}

void OptionsDatabase::set(const std::string& name, const std::string& value) {
  RGFLOW_PETSC(
      PetscOptionsSetValue(handle_, ("-" + name).c_str(), value.empty() ? nullptr : value.c_str()));
}

UseOptions::UseOptions(const OptionsDatabase& options) {
  RGFLOW_PETSC(PetscOptionsPush(options.get()));
}

UseOptions::~UseOptions() {
  PetscOptionsPop();
}

}  // namespace rgflow
