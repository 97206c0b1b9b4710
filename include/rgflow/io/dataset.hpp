// dataset.h5, schema version 1 (docs/schema.md): lattice fields of every level, written
// collectively with parallel HDF5 and read back by the later stages and the tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "rgflow/core/hdf5.hpp"
#include "rgflow/core/mpi.hpp"
#include "rgflow/field/distribution.hpp"
#include "rgflow/lattice/geometry.hpp"

namespace rgflow::io {

constexpr int64_t kDatasetSchemaVersion = 1;
constexpr const char* kDatasetFormat = "rgflow dataset";
/// Per-sample, per-level checksums (since 0.2.0; older files lack them): (levels + 1) x samples
/// uint64, computed as io::box_checksum describes (docs/schema.md).
constexpr const char* kChecksumsPath = "/checksums";
constexpr const char* kChecksumAlgorithm =
    "sum mod 2^64 over sites g of mix64(bits XOR (key + g * 0x9e3779b97f4a7c15)), "
    "key = mix64(level * 2^56 + sample), mix64 = splitmix64 finaliser, bits = stored value";

/// The Markov chain of an Ising dataset (field "ising"; docs/science.md section 8): sweeps of
/// `update` at coupling beta from a cold start, `thermalize` sweeps before sample 0 and
/// `sweeps_between` sweeps before each later sample. `update` is one of ising_update_names():
/// heat_bath (checkerboard), swendsen_wang, or swendsen_wang_heat_bath (each sweep one
/// Swendsen-Wang sweep, then one heat-bath sweep under the same keys). Files made before the
/// option hold heat-bath chains.
struct IsingChainSpec {
  double beta = 0;
  int64_t thermalize = 0;
  int64_t sweeps_between = 0;
  std::string update = "heat_bath";
};

/// Everything that determines a dataset's contents, plus provenance.
struct DatasetSpec {
  lattice::Geometry geometry;
  int64_t samples = 0;
  uint64_t seed = 0;
  std::string field = "iid";         // iid (values of `distribution`) or ising (spins)
  field::Distribution distribution;  // field iid
  IsingChainSpec ising;              // field ising
  std::string rg_map = "block_sum";  // block_sum; for ising also majority or decimation
  double scaling_dimension = 1.0;    // Delta in y = b^(-Delta) sum x (rg_map block_sum)
  std::string dtype = "float32";     // float32 or float64: the type of every level not of spins
  std::string command_line;          // provenance only
  std::string created;               // provenance only (UTC, ISO 8601)

  /// A description of the first field that determines contents and differs, or "" if none does.
  std::string difference(const DatasetSpec& other) const;
  /// Whether `level` holds spins, stored as int8 (+1 or -1): level 0 of an Ising dataset and every
  /// level of its majority or decimation map. Every other level holds floats of `dtype`.
  bool level_holds_spins(int level) const;
  /// Bytes per stored value of `level`: 1 for spins, else dtype_bytes(dtype).
  int64_t level_value_bytes(int level) const;
};

/// The block-spin maps an Ising dataset may use (block_sum is the only map of i.i.d. fields).
const std::vector<std::string>& rg_map_names();

/// The updates of an Ising chain (IsingChainSpec::update), and what each sweep does (the
/// dataset's update_description attribute).
const std::vector<std::string>& ising_update_names();
std::string ising_update_description(const std::string& update);

/// Bytes per value of `dtype`.
int64_t dtype_bytes(const std::string& dtype);

/// Writes one dataset file. Every member function is collective on the communicator the writer
/// was made with, and every rank passes the same arguments except where noted.
class DatasetWriter {
 public:
  /// Creates `path` (replacing any file of that name) with every group, dataset and attribute of
  /// the schema, storage allocated and its blocks reserved (rank 0 alone, then closed), so a
  /// later crash leaves a file -resume can open and a full disk fails here, on every rank alike.
  /// `collective` selects collective MPI-IO for the field data (best when each rank's share of a
  /// sample is many small pieces); independent I/O suits ranks that own whole samples or slabs of
  /// whole rows (one contiguous piece per sample).
  static DatasetWriter create(const Comm& comm, const std::string& path, const DatasetSpec& spec,
                              bool collective);
  /// Opens the partial file of an interrupted run; UsageError unless it was made with the same
  /// content-determining options as `spec` (rank 0 reads it serially first, so a damaged file
  /// gives every rank the same message). Reserves any blocks still missing, like create.
  static DatasetWriter reopen(const Comm& comm, const std::string& path, const DatasetSpec& spec,
                              bool collective);

  /// Per sample: 1 if it has been completely written (all levels).
  std::vector<uint8_t> completed_samples() const;
  /// The spins of level 0 of `sample` on `box` (level-0 sites; an empty box reads nothing) into
  /// `out`, as stored, and the checksum stored for them: where a resumed Ising chain continues
  /// from. Collective (every rank, its own box); an Ising dataset only.
  void read_spins(int64_t sample, const lattice::Box& box, int8_t* out) const;
  uint64_t stored_checksum(int level, int64_t sample) const;

  /// Writes samples [first_sample, first_sample + count) of `level` on `box` (level-k sites);
  /// `data` has shape count x box.extent. Per rank: count may be 0 (the rank still takes part).
  template <typename T>
  void write(int level, int64_t first_sample, int64_t count, const lattice::Box& box,
             const T* data);

  /// Records samples [first_sample, first_sample + count) as complete, with their checksums
  /// (`checksums`: (levels + 1) x count, level-major, the group's sums of box_checksum), after
  /// every rank of `group` (the ranks that wrote those samples) has finished its data writes. Per
  /// rank: only one rank of each group passes count > 0. Collective on the writer's communicator
  /// in collective mode; in independent mode only on `group`, so groups never wait for each other.
  void mark_complete(const Comm& group, int64_t first_sample, int64_t count,
                     const std::vector<uint64_t>& checksums);

  /// Records the integrated autocorrelation times of |m| and of the energy measured on the chain
  /// of an Ising run (attributes tau_int_abs_m, tau_int_energy and the method); NaN for "not
  /// measured". Collective; every rank passes the same values.
  void write_autocorrelation(double abs_magnetisation, double energy, int64_t series_length);

  /// Sets the file's `complete` attribute and closes it.
  void finish();

 private:
  /// Collective: opens an existing dataset file for writing on every rank of `comm`.
  static DatasetWriter open_parallel(const Comm& comm, const std::string& path,
                                     const DatasetSpec& spec, bool collective);
  /// Collective over `comm` (opens the level datasets of `file`, metadata work on it).
  DatasetWriter(const Comm& comm, h5::Hid file, const DatasetSpec& spec, bool collective);
  void open_datasets();

  const Comm* comm_;
  h5::Hid file_;
  DatasetSpec spec_;
  std::vector<h5::Hid> levels_;
  h5::Hid completion_;
  h5::Hid checksums_;
  bool collective_;
  h5::Hid transfer_;             // field data: collective or independent
  h5::Hid collective_transfer_;  // completion marks and reads: always collective
};

/// Reads a dataset file on one process (serial HDF5 access; any number of processes may read the
/// same file at once).
class DatasetReader {
 public:
  /// UsageError (one line naming the file and the object) if the file is missing, not HDF5, not
  /// an rgflow dataset, of another schema, or malformed: an attribute missing, of the wrong type
  /// or out of range (levels with b^levels > L, sizes that overflow), a level's field missing, not
  /// a dataset, not of floats of the dtype attribute's width, or of the wrong shape. HDF5's own
  /// failures on a damaged file also become UsageError.
  explicit DatasetReader(const std::string& path);
  /// The same, opened by every rank of `comm` together with the MPI-IO driver (collective), so
  /// that each rank then reads its own samples through MPI-IO, as parallel file systems expect.
  DatasetReader(const std::string& path, const Comm& comm);

  const DatasetSpec& spec() const { return spec_; }
  const std::string& path() const { return path_; }
  bool complete() const { return complete_; }
  /// Levels of spins (int8) are read by every reader below as the numbers +1 and -1 of the
  /// requested type, so train and analyze use them as they use float levels.
  /// Samples [first_sample, first_sample + count) of `level`, all sites, as double; shape
  /// count x L_k^d. A NaN or infinite value is a UsageError naming the level, sample and site, and
  /// so is a read HDF5 fails (a damaged file).
  std::vector<double> read(int level, int64_t first_sample, int64_t count) const;
  /// The same values read as float into `out` (resized, its storage reused across calls): for
  /// float32 datasets the stored values themselves, without a widening copy, so reductions that
  /// widen them (CentralMoments::add(const float*)) give the same bits as read() would, faster.
  /// For float64 datasets this would round: std::logic_error.
  void read_stored_floats(int level, int64_t first_sample, int64_t count,
                          std::vector<float>& out) const;
  /// Samples [first_sample, first_sample + count) of `level` on `box` (level sites) into `out`
  /// (count x box.extent, row-major), as stored: T must be the level's stored type (int8_t for a
  /// level of spins, else float for float32 and double for float64; std::logic_error otherwise).
  /// Values are not checked (a copy or a verification takes the bytes as they are); a failed read
  /// is a UsageError.
  template <typename T>
  void read_stored_box(int level, int64_t first_sample, int64_t count, const lattice::Box& box,
                       T* out) const;
  /// /sample_complete: 1 per sample whose every level was written.
  std::vector<uint8_t> completed_samples() const;
  /// The first attribute that disagrees with what the others imply (rg_map, block_map_scale,
  /// each level's level, L_k and scale_factor), or "" when all agree.
  std::string derived_attribute_problem() const;
  /// The integrated autocorrelation times an Ising dataset stores (NaN when not measured, e.g. a
  /// chain of one sample, and for i.i.d. fields).
  struct Autocorrelation {
    double abs_magnetisation = NAN;
    double energy = NAN;
  };
  Autocorrelation autocorrelation() const;
  /// Whether the file holds /checksums (files of rgflow 0.1.0 do not).
  bool has_checksums() const { return has_checksums_; }
  /// /checksums for samples [first_sample, first_sample + count): (levels + 1) x count,
  /// level-major. Only when has_checksums().
  std::vector<uint64_t> read_checksums(int64_t first_sample, int64_t count) const;
  /// One sample's values of `level` on `box` (level-k sites, within the lattice; an empty box
  /// reads nothing), as double; shape box.extent, row-major (last axis fastest): one hyperslab
  /// read, so a caller holds only the part of a sample it works on. A box outside the lattice, a
  /// NaN or infinite value (the message names the level, sample and site of the whole lattice)
  /// or a failed read is a UsageError. Local: independent reads.
  void read_box(int level, int64_t sample, const lattice::Box& box, std::vector<double>& out) const;
  std::vector<double> read_box(int level, int64_t sample, const lattice::Box& box) const {
    std::vector<double> out;
    read_box(level, sample, box, out);
    return out;
  }
  /// The same as float, the stored values of a float32 dataset (std::logic_error for float64).
  void read_box_stored_floats(int level, int64_t sample, const lattice::Box& box,
                              std::vector<float>& out) const;

 private:
  DatasetReader(const std::string& path, const Comm* comm);
  /// Samples [first_sample, first_sample + count) of `level` on `box` into `out` (count x
  /// box.size() values), as `memory_type`; UsageError for a box or samples outside the dataset.
  void read_box_values(int level, int64_t first_sample, int64_t count, const lattice::Box& box,
                       hid_t memory_type, void* out) const;
  /// UsageError naming the first NaN or Inf of `values` (one sample's values on `box`), if any.
  template <typename T>
  void check_box_finite(int level, int64_t sample, const lattice::Box& box,
                        const std::vector<T>& values) const;
  /// Samples [first_sample, first_sample + count) of `level` into `out`, as `memory_type`.
  /// Local: independent reads.
  void read_samples(int level, int64_t first_sample, int64_t count, hid_t memory_type,
                    void* out) const;
  /// The hyperslab [start, start + extent) of `level`'s field (sample axis first) into `out`, as
  /// `memory_type`; an extent with a zero selects nothing.
  void read_hyperslab(int level, std::vector<hsize_t> start, std::vector<hsize_t> extent,
                      hid_t memory_type, void* out) const;
  /// Reads and range-checks the root attributes into spec_ and complete_.
  void read_spec();
  /// Checks every level's field and /sample_complete against spec_.
  /// Also finds whether /checksums is there (has_checksums_).
  void check_layout();
  /// UsageError naming the first NaN or Inf of `values` (samples from `first_sample` on, `sites`
  /// values each), if any.
  template <typename T>
  void check_finite(int level, int64_t first_sample, const std::vector<T>& values,
                    int64_t sites) const;

  std::string path_;
  h5::Hid file_;
  DatasetSpec spec_;
  bool complete_ = false;
  bool has_checksums_ = false;
};

}  // namespace rgflow::io
