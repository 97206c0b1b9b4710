// Thin RAII layer over PETSc: error codes become exceptions, objects are destroyed by scope.
#pragma once

#include <petscdm.h>
#include <petscsys.h>

#include <string>
#include <utility>

namespace rgflow {

/// Throws LibraryError with PETSc's message when `code` is non-zero.
void petsc_check(PetscErrorCode code, const char* call, const char* file, int line);
#define RGFLOW_PETSC(call) ::rgflow::petsc_check((call), #call, __FILE__, __LINE__)

/// Owns a PETSc DM; destroyed (collectively, on the DM's communicator) at scope exit.
class DMHandle {
 public:
  DMHandle() = default;
  explicit DMHandle(DM dm) : dm_(dm) {}
  DMHandle(DMHandle&& other) noexcept : dm_(std::exchange(other.dm_, nullptr)) {}
  DMHandle& operator=(DMHandle&& other) noexcept {
    if (this != &other) {
      reset();
      dm_ = std::exchange(other.dm_, nullptr);
    }
    return *this;
  }
  DMHandle(const DMHandle&) = delete;
  DMHandle& operator=(const DMHandle&) = delete;
  ~DMHandle() { reset(); }

  DM get() const { return dm_; }
  DM* out() { return &dm_; }

 private:
  void reset() noexcept {
    if (dm_) DMDestroy(&dm_);  // never throws; a failure here cannot be acted on
    dm_ = nullptr;
  }
  DM dm_ = nullptr;
};

/// A PETSc log stage, pushed for the lifetime of the guard so -log_view attributes time to it.
class LogStageGuard {
 public:
  explicit LogStageGuard(PetscLogStage stage);
  ~LogStageGuard();
  LogStageGuard(const LogStageGuard&) = delete;
  LogStageGuard& operator=(const LogStageGuard&) = delete;
};

/// An options database of its own (PetscOptionsCreate), destroyed at scope exit. Local.
class OptionsDatabase {
 public:
  OptionsDatabase();
  ~OptionsDatabase();
  OptionsDatabase(const OptionsDatabase&) = delete;
  OptionsDatabase& operator=(const OptionsDatabase&) = delete;
  PetscOptions get() const { return handle_; }

  /// Sets option `name` (without the dash); an empty `value` makes it a flag.
  void set(const std::string& name, const std::string& value);

 private:
  PetscOptions handle_ = nullptr;
};

/// Makes `options` PETSc's default database for the lifetime of the guard (PetscOptionsPush).
class UseOptions {
 public:
  explicit UseOptions(const OptionsDatabase& options);
  ~UseOptions();
  UseOptions(const UseOptions&) = delete;
  UseOptions& operator=(const UseOptions&) = delete;
};

/// Registers (once per name) and returns a log stage.
PetscLogStage log_stage(const char* name);

}  // namespace rgflow
