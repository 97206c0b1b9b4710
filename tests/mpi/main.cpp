// Runs the GoogleTest cases under MPI: every rank runs every test (the tests are collective);
// only rank 0 prints, and the exit status is non-zero if any rank saw a failure.
#include <gtest/gtest.h>
#include <mpi.h>
#include <petscsys.h>

#include "rgflow/core/hdf5.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  PetscInitialize(&argc, &argv, nullptr, nullptr);
  PetscPushErrorHandler(PetscReturnErrorHandler, nullptr);
  rgflow::h5::silence_error_printing();
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int local_failed = RUN_ALL_TESTS();
  int any_failed = 0;
  MPI_Allreduce(&local_failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank != 0 && local_failed) std::fprintf(stderr, "rank %d saw failures\n", rank);
  PetscFinalize();
  MPI_Finalize();
  return any_failed ? 1 : 0;
}
