#include "rgflow/core/mpi.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace rgflow {

void mpi_check(int code, const char* call, const char* file, int line) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw LibraryError(std::string("MPI error in ") + call + " at " + source_location(file, line) +
                     ": " + std::string(text, static_cast<size_t>(length)));
}

Comm& Comm::operator=(Comm&& other) noexcept {
  if (this != &other) {
    if (owned_ && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
    comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
    owned_ = std::exchange(other.owned_, false);
  }
  return *this;
}

Comm::~Comm() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owned_ && comm_ != MPI_COMM_NULL && !finalized) MPI_Comm_free(&comm_);
}

int Comm::rank() const {
  int r = 0;
  RGFLOW_MPI(MPI_Comm_rank(comm_, &r));
  return r;
}

int Comm::size() const {
  int s = 0;
  RGFLOW_MPI(MPI_Comm_size(comm_, &s));
  return s;
}

Comm Comm::split(int color, int key) const {
  MPI_Comm sub = MPI_COMM_NULL;
  RGFLOW_MPI(MPI_Comm_split(comm_, color, key, &sub));
  Comm result(sub);
  result.owned_ = true;
  return result;
}

bool Comm::any(bool flag) const {
  int local = flag ? 1 : 0, global = 0;
  RGFLOW_MPI(MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_LOR, comm_));
  return global != 0;
}

long long Comm::sum(long long value) const {
  long long global = 0;
  RGFLOW_MPI(MPI_Allreduce(&value, &global, 1, MPI_LONG_LONG, MPI_SUM, comm_));
  return global;
}

void Comm::sum(std::vector<double>& values) const {
  // MPI counts are int: reduce in slices so any length works.
  constexpr size_t kSlice = size_t{1} << 30;
  for (size_t begin = 0; begin < values.size(); begin += kSlice) {
    const size_t count = std::min(kSlice, values.size() - begin);
    RGFLOW_MPI(MPI_Allreduce(MPI_IN_PLACE, values.data() + begin, static_cast<int>(count),
                             MPI_DOUBLE, MPI_SUM, comm_));
  }
}

void Comm::sum(std::vector<uint64_t>& values) const {
  constexpr size_t kSlice = size_t{1} << 30;
  for (size_t begin = 0; begin < values.size(); begin += kSlice) {
    const size_t count = std::min(kSlice, values.size() - begin);
    RGFLOW_MPI(MPI_Allreduce(MPI_IN_PLACE, values.data() + begin, static_cast<int>(count),
                             MPI_UINT64_T, MPI_SUM, comm_));
  }
}

int64_t Comm::min(int64_t value) const {
  int64_t global = 0;
  RGFLOW_MPI(MPI_Allreduce(&value, &global, 1, MPI_INT64_T, MPI_MIN, comm_));
  return global;
}

double Comm::max(double value) const {
  double global = 0;
  RGFLOW_MPI(MPI_Allreduce(&value, &global, 1, MPI_DOUBLE, MPI_MAX, comm_));
  return global;
}

std::string Comm::broadcast(const std::string& text, int root) const {
  long long length = static_cast<long long>(text.size());
  RGFLOW_MPI(MPI_Bcast(&length, 1, MPI_LONG_LONG, root, comm_));
  std::vector<char> buffer(text.begin(), text.end());
  buffer.resize(static_cast<size_t>(length));
  if (length > 0) {
    RGFLOW_MPI(MPI_Bcast(buffer.data(), static_cast<int>(length), MPI_CHAR, root, comm_));
  }
  return std::string(buffer.begin(), buffer.end());
}

void Comm::barrier() const {
  RGFLOW_MPI(MPI_Barrier(comm_));
}

std::string Comm::first_message(const std::string& message) const {
  const int mine = message.empty() ? size() : rank();
  int first = 0;
  RGFLOW_MPI(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm_));
  if (first == size()) return "";
  return broadcast(message, first);
}

void Comm::raise_if_any(const std::string& message) const {
  const std::string agreed = first_message(message);
  if (!agreed.empty()) throw UsageError(agreed);
}

void fail_if_injected(const char* phase, int rank) {
  const char* wanted = std::getenv("RGFLOW_INJECT_FAILURE");
  if (wanted == nullptr) return;
  if (std::string(wanted) == std::string(phase) + "@" + std::to_string(rank)) {
    throw LibraryError(std::string("injected failure in ") + phase + " on rank " +
                       std::to_string(rank));
  }
}

double peak_rss_mib(const Comm& comm) {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return comm.max(static_cast<double>(usage.ru_maxrss) / 1024.0);  // ru_maxrss is in KiB
}

void end_as_if_killed(const Comm& comm) {
  comm.barrier();
  std::fflush(stdout);
  std::_Exit(3);
}

}  // namespace rgflow
