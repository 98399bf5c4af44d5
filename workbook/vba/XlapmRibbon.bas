Attribute VB_Name = "XlapmRibbon"
' Ribbon callbacks of the "Account Matrix" tab (workbook/ribbon.xml).
'
' One Sub per button, each handing over to one entry point of xlapm.macros
' through xlwings' RunPython (module xlwings in this add-in). Python finds the
' workbook the CSM is looking at with xw.Book.caller(). Ribbon callbacks must
' be Public and take exactly (control As IRibbonControl).
Option Explicit

Public Sub XlapmRebuild(control As IRibbonControl)
    RunXlapm "import xlapm.macros; xlapm.macros.rebuild()"
End Sub

Public Sub XlapmPlaybook(control As IRibbonControl)
    RunXlapm "import xlapm.macros; xlapm.macros.show_playbook()"
End Sub

Public Sub XlapmSnapshotQuarter(control As IRibbonControl)
    RunXlapm "import xlapm.macros; xlapm.macros.snapshot_quarter()"
End Sub

Public Sub XlapmSettings(control As IRibbonControl)
    RunXlapm "import xlapm.macros; xlapm.macros.open_settings()"
End Sub

Public Sub XlapmHelp(control As IRibbonControl)
    RunXlapm "import xlapm.macros; xlapm.macros.show_help()"
End Sub

Private Sub RunXlapm(ByVal pythonCode As String)
    ' RunPython hands the active workbook to Python. With no workbook open,
    ' Excel would stop on "Object variable not set", which tells a CSM nothing.
    If ActiveWorkbook Is Nothing Then
        MsgBox "Open your accounts workbook first, then click the button again.", _
            vbInformation, "Account Matrix"
        Exit Sub
    End If
    RunPython pythonCode
End Sub
