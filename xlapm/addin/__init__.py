"""The xlapm Excel add-in: the "Account Matrix" ribbon tab and the APM_ formulas.

``build_addin`` makes ``xlapm.xlam`` from the sources in ``workbook/``;
``write_udf_wrappers`` writes the VBA wrappers of the formulas among them;
``install_addin`` puts the add-in shipped in this package into Excel.
"""

from xlapm.addin.build import (
    build_addin,
    build_shipped_addins,
    install_addin,
    write_udf_wrappers,
)

__all__ = ["build_addin", "build_shipped_addins", "install_addin", "write_udf_wrappers"]
